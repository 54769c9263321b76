package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// Timing of a node's calls, as the real agent's.
const (
	pollWait      = 30 * time.Second // the long-poll's wait
	callTimeout   = 15 * time.Second // beyond the wait, for any call
	debounce      = 10 * time.Millisecond
	minPollGap    = time.Second     // between unchanged answers
	kickGrace     = 2 * time.Second // a long poll still out this long after a newer version is seen is cut short
	retryMin      = 500 * time.Millisecond
	retryMax      = 10 * time.Second
	lastBeatLimit = 2 * time.Second
)

// errReregister ends a session: the server answered 404 for the node.
var errReregister = errors.New("the server does not know the node")

func isNotFound(err error) bool {
	var p *api.Problem
	return errors.As(err, &p) && p.Status == http.StatusNotFound
}

// node is one virtual node of the fleet.
type node struct {
	f     *Fleet
	idx   int
	name  string
	srv   Server
	log   *slog.Logger
	gpus  []api.GPUInfo
	model model.GPUModel

	changed chan struct{} // a task changed state (capacity 1)
	kick    chan struct{} // a heartbeat saw newer assignments (capacity 1)

	mu       sync.Mutex
	interval time.Duration
	siteTags []string
	version  int64 // of the last assignments applied
	seen     int64 // the newest version a heartbeat's reply carried
	tasks    map[taskKey]*task
	started  map[taskKey]bool // ever started (or refused): never again
	listed   map[taskKey]bool // in the last assignments
	busy     []int            // tasks holding each GPU
	closing  bool
}

// run registers the node (holding one of the fleet's start slots) and
// runs it until ctx is done; then it stops its tasks and reports them.
func (n *node) run(ctx context.Context, slots chan struct{}, registered func()) {
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		return
	}
	err := n.register(ctx)
	<-slots
	if err != nil {
		return
	}
	registered()
	wait := retryMin
	for {
		began := time.Now()
		err := n.session(ctx)
		if ctx.Err() != nil {
			break
		}
		n.log.Warn("the server no longer knows this node; registering again", "err", err)
		if time.Since(began) < retryMax {
			select { // forgotten again at once: do not hammer the server
			case <-ctx.Done():
			case <-time.After(wait):
			}
			wait = min(2*wait, retryMax)
		} else {
			wait = retryMin
		}
		if n.register(ctx) != nil {
			break
		}
	}
	n.shutdown()
}

// register announces the node, retrying with backoff until the server
// answers or ctx is done.
func (n *node) register(ctx context.Context) error {
	wait := retryMin
	for attempt := 1; ; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		reg, err := n.srv.Register(cctx, n.registration())
		cancel()
		if err == nil {
			n.mu.Lock()
			if reg.HeartbeatSeconds > 0 {
				n.interval = time.Duration(reg.HeartbeatSeconds * float64(time.Second))
			}
			n.siteTags = reg.Jurisdictions
			n.version, n.seen = 0, 0 // fetch everything anew
			n.mu.Unlock()
			n.log.Debug("registered", "heartbeat", n.interval)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		n.f.stats.errors.Add(1)
		if attempt == 1 {
			n.log.Warn("cannot register with the server; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, retryMax)
	}
}

// registration is the node as Register describes it, with the tasks
// still running.
func (n *node) registration() api.Register {
	cfg := n.f.cfg
	r := api.Register{Name: n.name, Site: n.f.site, CPUs: cfg.CPUs, MemoryGiB: cfg.MemoryGiB, GPUs: n.gpus,
		FakeGPUs: true, Version: cfg.Version}
	n.mu.Lock()
	defer n.mu.Unlock()
	all, _ := n.statusesLocked()
	for _, s := range all {
		if s.State == api.ReplicaRunning {
			r.Tasks = append(r.Tasks, s)
		}
	}
	return r
}

// session runs the heartbeat and assignment loops until ctx is done or
// the server forgets the node; it returns why it ended.
func (n *node) session(ctx context.Context) error {
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for _, loop := range []func(context.Context) error{n.heartbeatLoop, n.pollLoop} {
		wg.Go(func() {
			if err := loop(sctx); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	return context.Cause(sctx)
}

// heartbeatLoop sends a heartbeat at once, then at each of the node's
// slots (one per interval, the fleet's nodes spread evenly over it) and
// shortly after any task changes state. It returns errReregister on a
// 404, nil when ctx is done.
func (n *node) heartbeatLoop(ctx context.Context) error {
	n.mu.Lock()
	interval := n.interval
	n.mu.Unlock()
	timer := time.NewTimer(0)
	defer timer.Stop()
	var soon <-chan time.Time
	failing := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
			timer.Reset(time.Until(n.f.slot(n.idx, time.Now(), interval)))
		case <-n.changed:
			if soon == nil {
				soon = time.After(debounce)
			}
			continue
		case <-soon:
			soon = nil
		}
		err := n.beat(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case isNotFound(err):
			return fmt.Errorf("heartbeat: %w: %w", errReregister, err)
		case err != nil:
			n.f.stats.errors.Add(1)
			if !failing {
				n.log.Warn("heartbeat failed; tasks keep running, retrying", "err", err)
			}
		case failing:
			n.log.Info("heartbeats reach the server again")
		}
		failing = err != nil
	}
}

// beat sends one heartbeat. On success, ended tasks it carried are
// marked reported (and dropped once the assignments no longer list them);
// a newer assignments version wakes the poller.
func (n *node) beat(ctx context.Context) error {
	n.mu.Lock()
	tasks, final := n.statusesLocked()
	version := n.version
	hb := api.Heartbeat{Tasks: tasks, GPUs: n.samplesLocked(time.Now().UTC())}
	n.mu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	reply, err := n.srv.Heartbeat(cctx, n.name, hb)
	if err != nil {
		return err
	}
	n.f.stats.heartbeats.Add(1)
	n.mu.Lock()
	for _, k := range final {
		if t, ok := n.tasks[k]; ok {
			t.reported = true
			if !n.listed[k] {
				delete(n.tasks, k)
			}
		}
	}
	stale := reply.Version > version
	if stale {
		n.seen = max(n.seen, reply.Version)
	}
	n.mu.Unlock()
	if stale {
		select {
		case n.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// samplesLocked is the fake telemetry of the node's GPUs, as
// internal/gpu's fake computes it: idle power when free; 80 % of TDP, 80 %
// utilisation and 70 % of memory when a task holds the GPU.
func (n *node) samplesLocked(now time.Time) []api.GPUSample {
	out := make([]api.GPUSample, len(n.gpus))
	m := n.model
	for i := range out {
		s := api.GPUSample{Index: i, Time: now, PowerW: float64(m.IdleWatts)}
		if n.busy[i] > 0 {
			s.PowerW, s.Utilization = 0.8*float64(m.TDPWatts), 80
			s.MemUsedMiB = float64(m.MemoryGiB<<10) * 0.7
		}
		if m.TDPWatts > 0 {
			s.TempC = 30 + 50*s.PowerW/float64(m.TDPWatts)
		}
		out[i] = s
	}
	return out
}

// pollLoop long-polls the assignments and applies every answer. It
// returns errReregister on a 404, nil when ctx is done.
func (n *node) pollLoop(ctx context.Context) error {
	wait := retryMin
	failing := false
	for ctx.Err() == nil {
		select { // a kick from before this call is answered by the call
		case <-n.kick:
		default:
		}
		n.mu.Lock()
		after := n.version
		n.mu.Unlock()
		began := time.Now()
		as, kicked, err := n.fetch(ctx, after)
		switch {
		case ctx.Err() != nil:
			return nil
		case kicked:
			continue
		case isNotFound(err):
			return fmt.Errorf("assignments: %w: %w", errReregister, err)
		case err != nil:
			n.f.stats.errors.Add(1)
			if !failing {
				n.log.Warn("cannot fetch assignments; tasks keep running, retrying", "err", err)
			}
			failing = true
			n.pause(ctx, wait)
			wait = min(2*wait, retryMax)
			continue
		}
		failing, wait = false, retryMin
		n.apply(as)
		if as.Version == after && time.Since(began) < minPollGap {
			n.pause(ctx, minPollGap-time.Since(began)) // a server that does not wait
		}
	}
	return nil
}

// fetch is one long poll. The server answers it as soon as the node's
// assignments change; when a heartbeat has seen a version newer than
// after and the answer still has not come kickGrace later, the call is
// cut short (kicked). The grace spares the connection (cancelling an
// HTTP/1.1 request closes it) in the usual race where the heartbeat's
// reply overtakes the poll's answer; a kick about a version the poll
// already waits past is ignored.
func (n *node) fetch(ctx context.Context, after int64) (api.Assignments, bool, error) {
	cctx, cancel := context.WithTimeout(ctx, pollWait+callTimeout)
	defer cancel()
	var kicked bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for newer := false; !newer; {
			select {
			case <-n.kick:
			case <-stop:
				return
			}
			n.mu.Lock()
			newer = n.seen > after
			n.mu.Unlock()
		}
		t := time.NewTimer(kickGrace)
		defer t.Stop()
		select {
		case <-t.C:
			kicked = true
			cancel()
		case <-stop:
		}
	})
	as, err := n.srv.Assignments(cctx, n.name, after, pollWait)
	close(stop)
	wg.Wait()
	return as, err != nil && kicked, err
}

// pause sleeps for d, or until ctx is done or a heartbeat kicks.
func (n *node) pause(ctx context.Context, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-n.kick:
	case <-timer.C:
	}
}

// apply reconciles the node's tasks with the server's assignments, as
// the real agent does: it starts what it has never started, stops what is
// marked Stop, and stops, as orphans, running tasks no longer listed.
func (n *node) apply(as api.Assignments) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closing {
		return
	}
	now := time.Now().UTC()
	listed := make(map[taskKey]bool, len(as.Tasks))
	for _, spec := range as.Tasks {
		k := keyOf(spec)
		if listed[k] {
			continue // listed twice: the first wins
		}
		listed[k] = true
		if t, ok := n.tasks[k]; ok {
			n.updateLocked(t, spec)
			continue
		}
		switch {
		case n.started[k]:
			// Ran, was reported and forgotten: never run it twice.
		case spec.Stop:
			n.refuseLocked(spec, now, api.ReplicaExited, "", "stopped before it started")
		case spec.Deadline != nil && !now.Before(*spec.Deadline):
			n.refuseLocked(spec, now, api.ReplicaExited, signalRuntimeLimit, "runtime limit reached before it started")
		case !n.inJurisdiction(spec):
			n.refuseLocked(spec, now, api.ReplicaFailed, "", fmt.Sprintf("refused by the node's agent: its site %s carries %v, none of the job's jurisdictions %v",
				n.f.site, n.siteTags, spec.Jurisdictions))
		default:
			n.startLocked(spec, now)
		}
	}
	for k, t := range n.tasks {
		switch {
		case listed[k]:
		case t.state == api.ReplicaRunning:
			n.log.Debug("fake task no longer assigned: stopping it as an orphan", "task", t.name())
			n.stopLocked(t)
		case t.reported:
			delete(n.tasks, k)
		}
	}
	n.listed = listed
	n.version = as.Version
}

// updateLocked applies a new listing of a task the node has: a Stop, a
// changed deadline.
func (n *node) updateLocked(t *task, spec api.Task) {
	if t.state != api.ReplicaRunning {
		return
	}
	if spec.Stop {
		n.stopLocked(t)
		return
	}
	if !sameTime(t.deadline, spec.Deadline) {
		t.deadline = spec.Deadline
		n.armLocked(t)
	}
}

func sameTime(a, b *time.Time) bool {
	return (a == nil) == (b == nil) && (a == nil || a.Equal(*b))
}

// inJurisdiction is the real agent's own check: the node's site carries
// one of the task's jurisdictions (any site does when it names none).
// Caller holds mu.
func (n *node) inJurisdiction(spec api.Task) bool {
	if len(spec.Jurisdictions) == 0 {
		return true
	}
	for _, j := range spec.Jurisdictions {
		if slices.Contains(n.siteTags, j) {
			return true
		}
	}
	return false
}

// shutdown stops every running task and reports them once more.
func (n *node) shutdown() {
	n.mu.Lock()
	n.closing = true
	for _, t := range n.tasks {
		n.stopLocked(t)
	}
	n.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), lastBeatLimit)
	defer cancel()
	if err := n.beat(ctx); err != nil {
		n.log.Debug("last heartbeat failed", "err", err)
	}
}

// notify wakes the heartbeat loop: a task changed state.
func (n *node) notify() {
	select {
	case n.changed <- struct{}{}:
	default:
	}
}
