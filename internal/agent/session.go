package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// errReregister ends a session: the server answered 404 for the node.
var errReregister = errors.New("the server does not know the node")

// isNotFound reports whether err is the server's 404.
func isNotFound(err error) bool {
	var p *api.Problem
	return errors.As(err, &p) && p.Status == http.StatusNotFound
}

// refusal is the server's answer when it refuses this node's
// registration itself, not for now: credentials it does not take (401),
// a node it does not admit as it is (403: not in the facility without
// --dynamic-nodes, another site or name than its certificate's, a name
// enrolled in another site) or a registration it cannot read (400: the
// agent's own fault, e.g. a field of another version, which the server
// rejects). The same registration cannot pass until an operator acts;
// any other error (no answer, a 5xx, a server that is not the leader)
// may pass on its own. nil when err is no refusal.
func refusal(err error) *api.Problem {
	var p *api.Problem
	if errors.As(err, &p) && (p.Status == http.StatusBadRequest || p.Status == http.StatusUnauthorized || p.Status == http.StatusForbidden) {
		return p
	}
	return nil
}

// nextWait is the wait before the next registration after one that
// waited wait failed: it doubles, up to retryMax, or, after a refusal,
// from refusedMin up to refusedMax (an operator must act first: a fleet
// of refused agents must not keep the server busy).
func (a *Agent) nextWait(wait time.Duration, refused bool) time.Duration {
	if refused {
		return min(max(2*wait, a.refusedMin), a.refusedMax)
	}
	return min(2*wait, a.retryMax)
}

// jitter is a random wait in [d/2, d], so that agents refused or cut off
// together do not all call again at the same instant.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d-d/2+1)
}

// refusedLogs makes the log server refuse every token once the server
// refused err's call for the node's credentials (401: its certificate
// revoked, replaced by an enrollment, or expired): the server takes
// none of the node's, so fetches no log from it, and whoever took the
// node's identity before (a stolen key that registered) learned the
// token. The server's next answer gives it again.
func (a *Agent) refusedLogs(err error) {
	var p *api.Problem
	if errors.As(err, &p) && p.Status == http.StatusUnauthorized {
		a.mu.Lock()
		a.logsToken = ""
		a.mu.Unlock()
	}
}

// register announces the node, retrying with backoff (bounded,
// exponential, with jitter; longer after a refusal) until the server
// answers or ctx is done.
func (a *Agent) register(ctx context.Context) error {
	wait := a.retryMin
	lastRefusal := ""
	for attempt := 1; ; attempt++ {
		req := a.registration()
		sent := time.Now()
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		reg, err := a.srv.Register(cctx, req)
		cancel()
		if err == nil {
			a.mu.Lock()
			if reg.Node != "" {
				a.node = reg.Node
			}
			if reg.HeartbeatSeconds > 0 {
				a.interval = a.heartbeatOf(reg.HeartbeatSeconds)
			}
			a.siteTags = reg.Jurisdictions
			a.logsToken = reg.LogsToken
			a.stopAfterDisconnect = secondsOf(reg.StopAfterDisconnectSeconds)
			a.contactLocked(sent)
			a.disconnected, a.held = false, false
			a.version, a.seen = 0, 0 // fetch everything anew
			a.noUUID = map[int]bool{}
			for _, g := range req.GPUs {
				if g.UUID == "" {
					a.noUUID[g.Index] = true
				}
			}
			interval := a.interval
			a.mu.Unlock()
			a.log.Info("registered with the server", "as", reg.Node, "heartbeat", interval,
				"gpus", len(req.GPUs), "tasks", len(req.Tasks))
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		a.refusedLogs(err)
		if isRevoked(err) {
			return fmt.Errorf("registration: %w: %w", ErrRevoked, err)
		}
		p := refusal(err)
		if p != nil {
			wait = a.nextWait(wait, true)
		}
		d := jitter(wait)
		switch {
		case p != nil:
			// Each new reason once at ERROR: the node runs nothing until
			// an operator acts; the same reason again at INFO.
			level := slog.LevelError
			if p.Error() == lastRefusal {
				level = slog.LevelInfo
			}
			lastRefusal = p.Error()
			msg := "the server refuses this node: it will not take it until an operator acts (the node's certificate or token, the facility file, --dynamic-nodes); retrying"
			if p.Status == http.StatusBadRequest {
				msg = "the server rejects this agent's registration as not valid: it will not take it from this agent binary (run an agent of the server's version); retrying"
			}
			a.log.Log(ctx, level, msg, "status", p.Status, "reason", p.Error(), "attempt", attempt, "in", d.Round(time.Millisecond))
		default:
			lastRefusal = ""
			level := slog.LevelWarn // once; then Info, which a fleet of agents keeps quiet
			if attempt > 1 {
				level = slog.LevelInfo
			}
			a.log.Log(ctx, level, "cannot register with the server (no answer, or an error that may pass); retrying",
				"attempt", attempt, "in", d.Round(time.Millisecond), "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
		if p == nil {
			wait = a.nextWait(wait, false)
		}
	}
}

// registration is the node as Register describes it, with its tasks:
// those running and those whose end no heartbeat has carried yet (the
// server counts lost a replica it believed running there that the
// registration does not carry, and a later report of its end would not
// count).
func (a *Agent) registration() api.Register {
	r := api.Register{
		Name: a.cfg.Name, Site: a.cfg.Site, Address: a.advertise,
		CPUs: a.cfg.CPUs, MemoryGiB: a.cfg.MemoryGiB, GPUs: []api.GPUInfo{},
		FakeGPUs: a.cfg.FakeGPUs, Version: a.cfg.Version,
	}
	down, info := a.gpuHealth()
	if info != nil {
		r.GPUs = info
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	down = a.withOutlivedLocked(down)
	if len(down) > 0 {
		r.GPUsDown = downList(down)
	}
	a.noteDownLocked(down, info)
	r.Tasks, _ = a.statusesLocked()
	return r
}

// session runs the heartbeat and assignment loops until ctx is done or
// the server forgets the node; it returns why it ended.
func (a *Agent) session(ctx context.Context) error {
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for _, loop := range []func(context.Context) error{a.heartbeatLoop, a.pollLoop} {
		wg.Go(func() {
			if err := loop(sctx); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	return context.Cause(sctx)
}

// heartbeatLoop sends a heartbeat at once, then when Config.NextBeat
// says (every interval by default, as the server's last answer says it)
// and shortly after any task changes state. It returns errReregister on
// a 404, nil when ctx is done.
func (a *Agent) heartbeatLoop(ctx context.Context) error {
	a.mu.Lock()
	interval := a.interval
	a.mu.Unlock()
	timer := time.NewTimer(0)
	defer timer.Stop()
	var soon <-chan time.Time
	failing := false
	var failingSince, reminded time.Time // of the failures going on
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-a.changed:
			if soon == nil {
				soon = time.After(debounce)
			}
			continue
		case <-soon:
			soon = nil
		}
		began := time.Now()
		timer.Reset(time.Until(a.cfg.NextBeat(began, interval)))
		err := a.beat(ctx)
		a.mu.Lock()
		if a.interval != interval { // the server's answer changed it
			a.log.Info("heartbeat interval changed by the server", "from", interval, "to", a.interval)
			interval = a.interval
			timer.Reset(time.Until(a.cfg.NextBeat(began, interval)))
		}
		remind, stopAfter := a.failingRemind, a.stopAfterDisconnect
		a.mu.Unlock()
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, errRecert):
			timer.Reset(0) // again at once, with the renewed certificate
			continue
		case isNotFound(err):
			return fmt.Errorf("heartbeat: %w: %w", errReregister, err)
		case isRevoked(err):
			return fmt.Errorf("heartbeat: %w: %w", ErrRevoked, err)
		case errors.Is(err, errGPUBack):
			return err
		case err != nil && !failing:
			failingSince, reminded = began, began
			a.warnUnreachable("heartbeat failed", stopAfter, "every", interval, "err", err)
		case err != nil && time.Since(reminded) >= remind:
			// A long outage is recalled now and then: the first
			// warning alone does not tell it from a blip.
			reminded = time.Now()
			a.log.Warn("heartbeats still fail; retrying", "for", time.Since(failingSince).Round(100*time.Millisecond), "err", err)
		case err != nil:
			a.log.Debug("heartbeat failed again", "err", err)
		case failing:
			a.log.Info("heartbeats reach the server again", "after", time.Since(failingSince).Round(100*time.Millisecond))
		}
		failing = err != nil
	}
}

// warnUnreachable warns that a call to the server failed (msg) and says
// what becomes of the tasks: they keep running, until the server's
// stop-after-disconnect (stopAfter) without an answer when it set one.
func (a *Agent) warnUnreachable(msg string, stopAfter time.Duration, args ...any) {
	if stopAfter <= 0 {
		a.log.Warn(msg+"; tasks keep running, retrying", args...)
		return
	}
	a.log.Warn(msg+"; tasks keep running until no heartbeat has been answered for the server's stop-after-disconnect, retrying",
		append([]any{"stop_after_disconnect", stopAfter}, args...)...)
}

// heartbeatOf is the heartbeat interval of the server's s seconds (s >
// 0), within [minHeartbeat, maxGrace]: a value beyond a duration's range
// would otherwise turn negative, and one too short be a tight loop of
// heartbeats.
func (a *Agent) heartbeatOf(s float64) time.Duration {
	d := max(secondsOf(s), minHeartbeat) // secondsOf caps it at maxGrace
	if s < minHeartbeat.Seconds() || s > maxGrace.Seconds() {
		a.log.Warn("the server's heartbeat interval is out of range; using the nearest bound", "seconds", s, "interval", d)
	}
	return d
}

// everyInterval is the default Config.NextBeat: one interval after the
// last heartbeat.
func everyInterval(last time.Time, interval time.Duration) time.Time { return last.Add(interval) }

// beat sends one heartbeat. On success, ended tasks it carried are
// marked reported (and dropped once the assignments no longer list them);
// an assignments version other than the agent's wakes the poller. Other,
// not newer: a server rebuilt from its store (after a failed commit, a
// change of leader) numbers its versions afresh, from a random base, while
// the node stays registered.
func (a *Agent) beat(ctx context.Context) error {
	a.probeDisk()
	down, info := a.gpuHealth()
	limits, set := a.readLimits()
	a.mu.Lock()
	down = a.withOutlivedLocked(down)
	if a.noteDownLocked(down, info) && !a.closing {
		a.mu.Unlock()
		return errGPUBack // registered again, with its UUID
	}
	a.recordGPUs(uuidsOf(info)) // a GPU read for the first time
	a.checkLimitsLocked(limits, set)
	a.retryUncapsLocked()
	a.retryCapsLocked()
	if p, ok := a.rt.(*processes); ok {
		p.reapOrphans() // under mu: no task is starting
		if err := p.takeLogFull(); err != nil {
			// A running task's log found the disk full: a start would
			// fail there too. The next heartbeat's probe says when
			// it has room again.
			a.noteDiskLocked(err)
		}
	}
	tasks, final := a.statusesLocked()
	node, version, leaving, diskErr := a.node, a.version, a.closing, a.diskErr
	a.mu.Unlock()
	// the limits in tasks are those the assignments of version set
	hb := api.Heartbeat{Tasks: tasks, GPUs: []api.GPUSample{}, Leaving: leaving, DiskError: diskErr, AssignmentsVersion: &version}
	if len(down) > 0 {
		hb.GPUsDown = downList(down)
	}
	if a.cfg.Devices != nil {
		hb.GPUs = plausible(a.cfg.Devices.Sample(time.Now().UTC()), a.cfg.Devices.Info(), func(s api.GPUSample, limit float64) {
			a.log.Warn("GPU power reading left out of the heartbeat: not a measurement", "gpu", s.Index, "watts", s.PowerW, "most_plausible", limit)
		})
	}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	sent, gen := time.Now(), a.certGen.Load()
	reply, err := a.srv.Heartbeat(cctx, node, hb)
	if err != nil && a.certGen.Load() != gen {
		return fmt.Errorf("heartbeat: %w: %w", errRecert, err)
	}
	if err != nil {
		a.refusedLogs(err)
		return err
	}
	a.mu.Lock()
	// The server's settings as they are now: a restart may change them
	// and is not registered with again.
	if d := reply.StopAfterDisconnectSeconds; d != nil {
		a.stopAfterDisconnect = secondsOf(*d)
	}
	if reply.Jurisdictions != nil {
		a.siteTags = reply.Jurisdictions
	}
	if reply.LogsToken != "" {
		a.logsToken = reply.LogsToken
	}
	if d := reply.HeartbeatSeconds; d != nil && *d > 0 {
		a.interval = a.heartbeatOf(*d)
	}
	a.contactLocked(sent)
	a.reconnectedLocked(reply.Version)
	var forget []taskKey
	for _, k := range final {
		if t, ok := a.tasks[k]; ok {
			t.reported = true
			if !a.listed[k] {
				forget = append(forget, k)
			}
		}
	}
	a.forgetLocked(forget...)
	// A reply to a heartbeat sent before the poller applied a newer
	// version says nothing about that one.
	differs := reply.Version != version && a.version == version
	if differs {
		a.seen = reply.Version
	}
	a.mu.Unlock()
	if differs {
		select {
		case a.kick <- struct{}{}:
		default:
		}
	}
	return nil
}
