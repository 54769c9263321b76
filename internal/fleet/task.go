package fleet

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// Why a fake task ended before its run was over, as the real agent
// reports a process it stopped: the signal's name and 128 + its number.
const (
	signalTerminated   = "terminated"    // a stop, an orphan, the fleet's shutdown (SIGTERM)
	signalRuntimeLimit = "runtime-limit" // the task's deadline passed
	codeTerminated     = 128 + 15
	codeCannotRun      = 126
)

// taskKey names a task: one attempt of one replica of a job.
type taskKey struct {
	Job              string
	Replica, Attempt int
}

func keyOf(t api.Task) taskKey { return taskKey{t.Job, t.Replica, t.Attempt} }

// task is one fake task of a node; the node's mutex guards it.
type task struct {
	key      taskKey
	gpus     []int
	deadline *time.Time
	run      fakeRun

	state              string // api.ReplicaRunning, ReplicaExited, ReplicaFailed
	exitCode           *int
	signal             string
	startedAt, endedAt time.Time
	err                string
	stopping           bool
	timer              *time.Timer // ends the run, or stops it at its deadline
	gen                int         // of timer: a timer of an older generation does nothing
	reported           bool        // a heartbeat carried its end
}

func (t *task) name() string {
	return fmt.Sprintf("%s/%d/%d", t.key.Job, t.key.Replica, t.key.Attempt)
}

func (t *task) status() api.TaskStatus {
	s := api.TaskStatus{Job: t.key.Job, Replica: t.key.Replica, Attempt: t.key.Attempt,
		State: t.state, ExitCode: t.exitCode, Signal: t.signal, Error: t.err, Stopping: t.stopping}
	if !t.startedAt.IsZero() {
		at := t.startedAt
		s.StartedAt = &at
	}
	if !t.endedAt.IsZero() {
		at := t.endedAt
		s.EndedAt = &at
	}
	return s
}

// next is when the task's run ends on its own and how: normally (with
// its planned exit code) or stopped at its deadline. ok is false for a
// task that runs until it is stopped.
func (t *task) next() (at time.Time, atDeadline, ok bool) {
	switch {
	case t.run.UntilDeadline && t.deadline != nil:
		return *t.deadline, false, true
	case t.run.UntilDeadline || t.run.Forever:
		if t.deadline != nil {
			return *t.deadline, true, true
		}
		return time.Time{}, false, false
	}
	end := t.startedAt.Add(t.run.Duration)
	if t.deadline != nil && t.deadline.Before(end) {
		return *t.deadline, true, true
	}
	return end, false, true
}

// startLocked starts a fake task: it is running from now, and a timer
// ends it.
func (n *node) startLocked(spec api.Task, now time.Time) {
	k := keyOf(spec)
	t := &task{key: k, gpus: spec.GPUs, deadline: spec.Deadline, run: decide(spec, n.f.cfg.DefaultDuration)}
	n.tasks[k], n.started[k] = t, true
	defer n.notify()
	if t.run.Err != "" {
		code := codeCannotRun
		t.state, t.exitCode, t.endedAt, t.err = api.ReplicaFailed, &code, now, t.run.Err
		n.f.stats.failed.Add(1)
		n.log.Debug("fake task cannot start", "task", t.name(), "err", t.run.Err)
		return
	}
	t.state, t.startedAt = api.ReplicaRunning, now
	n.holdGPUsLocked(t, true)
	n.armLocked(t)
	n.f.stats.started.Add(1)
	n.f.stats.running.Add(1)
	n.log.Debug("fake task started", "task", t.name(), "run", t.run.Duration, "until_deadline", t.run.UntilDeadline,
		"forever", t.run.Forever, "exit_code", t.run.ExitCode)
}

// armLocked (re)sets the timer that ends the task's run.
func (n *node) armLocked(t *task) {
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	t.gen++
	at, atDeadline, ok := t.next()
	if !ok {
		return
	}
	gen := t.gen
	t.timer = time.AfterFunc(max(time.Until(at), 0), func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		if t.gen != gen || t.state != api.ReplicaRunning {
			return
		}
		if atDeadline {
			n.endLocked(t, codeTerminated, signalRuntimeLimit)
			return
		}
		n.endLocked(t, t.run.ExitCode, "")
	})
}

// stopLocked ends a running task as a process that dies of SIGTERM at
// once: exit code 143, Signal "terminated". The fake ignores the grace.
func (n *node) stopLocked(t *task) {
	if t.state != api.ReplicaRunning {
		return
	}
	t.stopping = true
	n.endLocked(t, codeTerminated, signalTerminated)
}

// endLocked records the end of a running task.
func (n *node) endLocked(t *task, code int, signal string) {
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	t.gen++
	t.state, t.exitCode, t.signal, t.endedAt = api.ReplicaExited, &code, signal, time.Now().UTC()
	n.holdGPUsLocked(t, false)
	n.f.stats.running.Add(-1)
	if code == 0 {
		n.f.stats.succeeded.Add(1)
	} else {
		n.f.stats.failed.Add(1)
	}
	n.log.Debug("fake task ended", "task", t.name(), "exit_code", code, "signal", signal,
		"ran", t.endedAt.Sub(t.startedAt).Round(time.Millisecond))
	n.notify()
}

// refuseLocked records a task the node will not start as ended at once,
// as the real agent does.
func (n *node) refuseLocked(spec api.Task, now time.Time, state, signal, why string) {
	k := keyOf(spec)
	n.started[k] = true
	t := &task{key: k, state: state, signal: signal, stopping: spec.Stop, endedAt: now, err: why}
	n.tasks[k] = t
	n.f.stats.failed.Add(1)
	n.log.Debug("fake task not started", "task", t.name(), "why", why)
	n.notify()
}

// holdGPUsLocked counts the task's GPUs in (or out of) use, for the
// telemetry.
func (n *node) holdGPUsLocked(t *task, hold bool) {
	for _, g := range t.gpus {
		if g < 0 || g >= len(n.busy) {
			continue
		}
		if hold {
			n.busy[g]++
		} else if n.busy[g] > 0 {
			n.busy[g]--
		}
	}
}

// statusesLocked is every task's status, in a stable order, and the keys
// of those that ended.
func (n *node) statusesLocked() ([]api.TaskStatus, []taskKey) {
	out := make([]api.TaskStatus, 0, len(n.tasks))
	var final []taskKey
	for k, t := range n.tasks {
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
