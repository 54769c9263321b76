package agent

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// taskKey names a task: one attempt of one replica of a job.
type taskKey struct {
	Job     string `json:"job"`
	Replica int    `json:"replica"`
	Attempt int    `json:"attempt"`
}

func keyOf(t api.Task) taskKey { return taskKey{t.Job, t.Replica, t.Attempt} }

func (k taskKey) String() string { return fmt.Sprintf("%s/%d/%d", k.Job, k.Replica, k.Attempt) }

// pollLoop long-polls the assignments and applies every answer. It
// returns errReregister on a 404, nil when ctx is done.
func (a *Agent) pollLoop(ctx context.Context) error {
	wait := a.retryMin
	failing := false
	for ctx.Err() == nil {
		select { // a kick from before this call is answered by the call
		case <-a.kick:
		default:
		}
		select { // so is a renewal: the call presents the new certificate
		case <-a.recert:
		default:
		}
		gen := a.certGen.Load()
		a.mu.Lock()
		node, after := a.node, a.version
		a.mu.Unlock()
		began := time.Now()
		as, kicked, err := a.fetch(ctx, node, after)
		switch {
		case ctx.Err() != nil:
			return nil
		case kicked:
			continue
		case err != nil && a.certGen.Load() != gen:
			continue // errRecert: again, with the renewed certificate
		case isNotFound(err):
			return fmt.Errorf("assignments: %w: %w", errReregister, err)
		case isRevoked(err):
			return fmt.Errorf("assignments: %w: %w", ErrRevoked, err)
		case err != nil:
			if !failing {
				a.mu.Lock()
				stopAfter := a.stopAfterDisconnect
				a.mu.Unlock()
				a.warnUnreachable("cannot fetch assignments", stopAfter, "err", err)
			}
			failing = true
			a.pause(ctx, wait)
			wait = min(2*wait, a.retryMax)
			continue
		}
		if failing {
			a.log.Info("assignments reach the agent again")
		}
		failing, wait = false, a.retryMin
		a.apply(as)
		if as.Version == after && time.Since(began) < minPollGap {
			a.pause(ctx, minPollGap-time.Since(began)) // a server that does not wait
		}
	}
	return nil
}

// fetch is one long poll. The server answers it as soon as the node's
// assignments change; when a heartbeat has seen a version other than
// after and the answer still has not come kickGrace later, the call is
// cut short (kicked): the poll may be waiting on a server that was
// replaced (rebuilt from the store) and will never answer it. The grace
// spares the connection (cancelling an HTTP/1.1 request closes it) in the
// usual race where the heartbeat's reply overtakes the poll's answer; a
// kick about the version the poll already waits past is ignored. A
// renewal of the node's certificate (CertificateRenewed) cuts it short
// at once.
func (a *Agent) fetch(ctx context.Context, node string, after int64) (api.Assignments, bool, error) {
	cctx, cancel := context.WithTimeout(ctx, pollWait+callTimeout)
	defer cancel()
	var kicked bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for newer := false; !newer; {
			select {
			case <-a.kick:
			case <-a.recert:
				// The certificate the call was sent with is renewed,
				// and refused once the new one is used: at once.
				kicked = true
				cancel()
				return
			case <-stop:
				return
			}
			a.mu.Lock()
			newer = a.seen != 0 && a.seen != after
			a.mu.Unlock()
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
	as, err := a.srv.Assignments(cctx, node, after, pollWait)
	close(stop)
	wg.Wait()
	return as, err != nil && kicked, err
}

// pause sleeps for d, or until ctx is done or a heartbeat kicks.
func (a *Agent) pause(ctx context.Context, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-a.kick:
	case <-timer.C:
	}
}

// apply reconciles the tasks with the server's assignments.
func (a *Agent) apply(as api.Assignments) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.applyLocked(as)
}

// applyLocked is apply; caller holds mu.
func (a *Agent) applyLocked(as api.Assignments) {
	if a.closing || a.quitting.Load() {
		return
	}
	a.lastAs, a.held = as, false
	now := time.Now().UTC()
	var starts []api.Task
	listed := make(map[taskKey]bool, len(as.Tasks))
	for _, spec := range as.Tasks {
		k := keyOf(spec)
		if listed[k] {
			continue // listed twice: the first wins
		}
		listed[k] = true
		if t, ok := a.tasks[k]; ok {
			a.updateLocked(t, spec)
			continue
		}
		out := a.outOfJurisdiction(spec)
		switch {
		case a.started[k]:
			// Ran, was reported and forgotten: never run it twice.
		case spec.Stop:
			a.refuseLocked(spec, now, api.ReplicaExited, "", "stopped before it started")
		case spec.Deadline != nil && !now.Before(*spec.Deadline):
			a.refuseLocked(spec, now, api.ReplicaExited, signalRuntimeLimit, "runtime limit reached before it started")
		case out != "":
			a.refuseLocked(spec, now, api.ReplicaFailed, "", fmt.Sprintf("refused by the node's agent: its site %s carries %v, none of %s",
				a.cfg.Site, a.siteTags, out))
		case a.disconnected:
			// The server may count it lost already: started once
			// it has heard from the agent again (reconnectedLocked).
			a.held = true
		default:
			starts = append(starts, spec)
		}
	}
	a.startLocked(starts, now)
	var forget []taskKey
	for k, t := range a.tasks {
		switch {
		case listed[k]:
		case t.state == api.ReplicaRunning:
			if !t.stopping {
				a.log.Warn("task no longer assigned: killing it as an orphan", "task", t.name(), "pid", t.pid)
			}
			a.stopLocked(t, 0, reasonOrphan)
		case t.reported:
			forget = append(forget, k)
		}
	}
	a.forgetLocked(forget...)
	a.listed = listed
	a.unfinished = nil
	if as.UnfinishedJobs != nil {
		a.unfinished = make(map[string]bool, len(as.UnfinishedJobs))
		for _, job := range as.UnfinishedJobs {
			a.unfinished[sanitize(job)] = true
		}
		// The tasks ever started of jobs the server says are finished
		// are never listed again: forgotten, the set stays the size of
		// the unfinished jobs' instead of every task the node ran.
		for k := range a.started {
			if _, held := a.tasks[k]; !held && !listed[k] && !a.unfinished[sanitize(k.Job)] {
				delete(a.started, k)
			}
		}
	}
	a.version, a.seen = as.Version, 0
}

// updateLocked applies a new listing of a task the agent has: a Stop, a
// changed deadline, a changed power cap (a recap: raised, or lowered
// back).
func (a *Agent) updateLocked(t *task, spec api.Task) {
	t.spec.Stop, t.spec.GraceSeconds, t.spec.Deadline = spec.Stop, spec.GraceSeconds, spec.Deadline
	if t.state != api.ReplicaRunning {
		return
	}
	t.live.setGrace(t.grace())
	a.recapLocked(t, spec.PowerCapW)
	if spec.Stop {
		a.stopLocked(t, t.grace(), reasonStop)
		return
	}
	a.armDeadlineLocked(t)
}

// outOfJurisdiction names the task's list of jurisdictions (the job's,
// its tenant's or its data class's) of which the node's site carries
// none; "" when the site carries one of each list that is not empty.
// The server placed the task within them; this is the agent's own check,
// so that a mistaken or forged assignment does not run. Caller holds mu.
func (a *Agent) outOfJurisdiction(spec api.Task) string {
	for _, l := range []struct {
		whose string
		tags  []string
	}{
		{"the job's jurisdictions", spec.Jurisdictions},
		{"its tenant's jurisdictions", spec.TenantJurisdictions},
		{"its data class's jurisdictions", spec.DataClassJurisdictions},
	} {
		if len(l.tags) > 0 && !slices.ContainsFunc(l.tags, func(t string) bool { return slices.Contains(a.siteTags, t) }) {
			return fmt.Sprintf("%s %v", l.whose, l.tags)
		}
	}
	return ""
}

// refuseLocked records a task the agent will not start as ended, in
// state (api.ReplicaExited or ReplicaFailed).
func (a *Agent) refuseLocked(spec api.Task, now time.Time, state, signal, why string) {
	k := keyOf(spec)
	a.started[k] = true
	t := &task{key: k, spec: spec, state: state, signal: signal, stopping: spec.Stop,
		endedAt: now, errs: []string{why}, done: make(chan struct{})}
	close(t.done)
	a.tasks[k] = t
	a.changedLocked(t)
	a.log.Info("task not started", "task", t.name(), "why", why)
	a.notify()
}

// statusesLocked is every task's status, in a stable order, and the keys
// of those that ended.
func (a *Agent) statusesLocked() ([]api.TaskStatus, []taskKey) {
	out := make([]api.TaskStatus, 0, len(a.tasks))
	var final []taskKey
	for k, t := range a.tasks {
		out = append(out, t.status())
		if t.state != api.ReplicaRunning {
			final = append(final, k)
		}
	}
	slices.SortFunc(out, func(x, y api.TaskStatus) int {
		return cmp.Or(cmp.Compare(x.Job, y.Job), cmp.Compare(x.Attempt, y.Attempt), cmp.Compare(x.Replica, y.Replica))
	})
	return out, final
}
