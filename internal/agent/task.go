package agent

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// Why a task is stopped.
const (
	reasonStop         = "stop"
	reasonOrphan       = "orphan"
	reasonShutdown     = "shutdown"
	signalRuntimeLimit = "runtime-limit" // also the reason
)

// task is one task the agent started (or refused to start). The agent's
// mutex guards it.
type task struct {
	key  taskKey
	spec api.Task
	proc Process   // nil when it did not start
	live *liveProc // its process in the agent's live set (frozen.go); nil when it did not start

	state              string // api.ReplicaRunning, ReplicaExited, ReplicaFailed, ReplicaLost (stopped by the agent's shutdown)
	pid                int    // the process group's ID; 0 for a task that is no process
	exitCode           *int
	signal             string
	startedAt, endedAt time.Time
	errs               []string
	stopping           bool
	reason             string    // why it was stopped
	stopNote           string    // for its Error, should the stop end it (reasonDisconnect)
	stopAt             time.Time // when the stop began (SIGTERM)
	killAt             time.Time
	killTimer          *time.Timer
	deadline           time.Time
	deadlineTimer      *time.Timer
	capped             bool          // the agent set its GPUs' power limit
	capSet             int           // the limit in force on its GPUs, as reported (0: their own)
	capRefused         bool          // not started: a GPU refused its cap (api.TaskStatus.CapRefused)
	avoidNode          bool          // not started for a cause of the node's (api.TaskStatus.AvoidNode)
	done               chan struct{} // closed when it ended
	reported           bool          // a heartbeat carried its end
	recorded           bool          // listed in startedFile (started.go)
	cpuSeconds         *float64      // once ended, the CPU time its cgroup used (api.TaskStatus.CPUSeconds)
}

func (t *task) name() string { return t.key.String() }

// maxGrace bounds a task's grace (and keeps the conversion in range).
const maxGrace = 24 * time.Hour

// grace is the task's grace between SIGTERM and SIGKILL: 0 when unset,
// negative or NaN.
func (t *task) grace() time.Duration { return secondsOf(t.spec.GraceSeconds) }

func (t *task) status() api.TaskStatus {
	s := api.TaskStatus{Job: t.key.Job, Replica: t.key.Replica, Attempt: t.key.Attempt,
		State: t.state, PID: t.pid, ExitCode: t.exitCode, Signal: t.signal,
		Error: strings.Join(t.errs, "; "), Stopping: t.stopping, CapRefused: t.capRefused,
		AvoidNode: t.capRefused || t.avoidNode, CPUSeconds: t.cpuSeconds}
	if t.state == api.ReplicaRunning {
		w := t.capSet
		s.PowerCapW = &w
	}
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

// startLocked starts tasks through the runtime once startedFile records
// them (one write for all). A task that cannot start is recorded as
// failed.
func (a *Agent) startLocked(specs []api.Task, now time.Time) {
	if len(specs) == 0 {
		return
	}
	defer a.notify()
	ts := make([]*task, len(specs))
	for i, spec := range specs {
		k := keyOf(spec)
		ts[i] = &task{key: k, spec: spec, done: make(chan struct{}), recorded: true}
		a.tasks[k], a.started[k] = ts[i], true
	}
	if err := a.recordStartedLocked(); err != nil {
		a.noteDiskLocked(fmt.Errorf("record the tasks it starts in %s: %w", startedFile, err))
		for _, t := range ts {
			t.recorded = false
			a.failLocked(t, now, 126, fmt.Errorf("record its start in %s: %w", startedFile, err))
		}
		return
	}
	for _, t := range ts {
		a.startOneLocked(t, now)
	}
}

// startOneLocked starts a recorded task. A task on a GPU down
// (health.go), or whose cap a GPU refuses (refusedCapError), is not
// started.
func (a *Agent) startOneLocked(t *task, now time.Time) {
	spec := t.spec
	if a.quitting.Load() {
		a.notStartedLocked(t, now)
		return
	}
	if err := a.downErrLocked(spec.GPUs); err != nil {
		a.failLocked(t, now, 126, err)
		return
	}
	capped := a.capLocked(t)
	if a.quitting.Load() { // told to stop while setting its cap, which may hang
		a.notStartedLocked(t, now)
		return
	}
	if !capped {
		t.capRefused = true
		a.failLocked(t, now, 126, refusedCapError(spec.PowerCapW))
		return
	}
	t.capSet = spec.PowerCapW
	p, err := a.rt.Start(a.taskEnv(spec))
	if err != nil {
		code := 126
		var se *StartError
		if errors.As(err, &se) {
			code, t.avoidNode = se.Code, se.Node
			if se.Agent {
				a.noteDiskLocked(err)
			}
		}
		a.failLocked(t, now, code, err)
		return
	}
	t.state, t.proc, t.pid, t.startedAt = api.ReplicaRunning, p, p.PID(), now
	a.addLiveLocked(t)
	a.holdGPUsLocked(t, true)
	if !t.capped {
		a.settleSharedLocked(t) // a stopping task's cap does not hold it
	}
	a.armDeadlineLocked(t)
	a.changedLocked(t)
	// The program alone at info: arguments may carry secrets.
	a.log.Info("task started", "task", t.name(), "pid", t.pid, "program", program(spec.Command), "gpus", spec.GPUs)
	a.log.Debug("task command", "task", t.name(), "command", spec.Command)
	a.procs.Add(1)
	go a.wait(t)
}

// notStartedLocked records a task the agent does not start because it
// is to stop (quitting): a call that held its lock (a power cap that
// hung) held the start up while the shutdown stopped the tasks without
// the lock, and a task started after would run unstopped until the
// shutdown gets the lock. It is lost, as the tasks the shutdown stopped
// are: the job did not finish.
func (a *Agent) notStartedLocked(t *task, now time.Time) {
	t.state, t.endedAt = api.ReplicaLost, now
	t.errs = append(t.errs, "not started: its node's agent was shutting down")
	a.uncapLocked(t)
	close(t.done)
	a.changedLocked(t)
	a.log.Warn("task not started: the agent is to stop", "task", t.name())
}

// failLocked records a task that could not start.
func (a *Agent) failLocked(t *task, now time.Time, code int, err error) {
	t.state, t.exitCode, t.endedAt = api.ReplicaFailed, &code, now
	t.errs = append(t.errs, err.Error())
	a.uncapLocked(t)
	close(t.done)
	a.changedLocked(t)
	a.log.Warn("task failed to start", "task", t.name(), "exit_code", code, "err", err)
}

// wait waits for the task to end and records the end.
func (a *Agent) wait(t *task) {
	defer a.procs.Done()
	x := t.proc.Wait()
	if x.At.IsZero() {
		x.At = time.Now()
	}
	a.mu.Lock()
	a.dropLiveLocked(t)
	t.live.disarm()
	if at, why := t.live.termed(); !t.stopping && !at.IsZero() {
		// A stop reached it while the agent was stuck (the disconnect's,
		// stopFrozen, or its runtime limit's, stopAtDeadlineFrozen), and
		// the agent had not recorded that stop yet.
		t.stopping, t.reason, t.stopAt = true, why, at
		if why == reasonDisconnect {
			t.stopNote = a.disconnectNoteLocked()
		}
	}
	t.state, t.endedAt = api.ReplicaExited, x.At.UTC()
	if x.CPUKnown {
		cpu := x.CPU.Seconds()
		t.cpuSeconds = &cpu
	}
	if x.Err != nil {
		t.errs = append(t.errs, fmt.Sprintf("wait: %v", x.Err))
	} else {
		code := x.Code
		t.exitCode, t.signal = &code, x.Signal
	}
	reason := t.reason
	if t.stopAt.After(x.At) {
		// The main process had ended by itself (its output was still
		// being read, its group cleared) when the stop began: the stop
		// did not end it, and its end is its own. (On the monotonic
		// clock when the runtime's end has its reading, as the default
		// one's has: a step of the wall clock does not change the order.)
		reason = ""
	}
	switch reason {
	case signalRuntimeLimit:
		t.signal = signalRuntimeLimit
	case reasonShutdown, reasonDisconnect:
		// It did not end by itself, nor because the server asked: however
		// it exited (a checkpoint saved on SIGTERM, exit 0), the job did
		// not finish. Lost, the server ends the attempt as for a node lost.
		t.state = api.ReplicaLost
		if reason == reasonShutdown {
			t.errs = append(t.errs, "its node's agent stopped it while shutting down")
		} else if t.stopNote != "" {
			t.errs = append(t.errs, t.stopNote)
		}
	}
	for _, timer := range []*time.Timer{t.killTimer, t.deadlineTimer} {
		if timer != nil {
			timer.Stop()
		}
	}
	a.holdGPUsLocked(t, false)
	a.noteOutlivedLocked(t, x)
	a.uncapLocked(t)
	close(t.done)
	a.changedLocked(t)
	code, signal := -1, t.signal
	if t.exitCode != nil {
		code = *t.exitCode
	}
	a.mu.Unlock()
	a.notify()
	a.log.Info("task ended", "task", t.name(), "pid", t.pid, "exit_code", code,
		"signal", signal, "ran", x.At.Sub(t.startedAt).Round(time.Millisecond))
}

// changedLocked tells Config.OnTaskChange of the task's new state.
func (a *Agent) changedLocked(t *task) {
	if a.cfg.OnTaskChange != nil {
		a.cfg.OnTaskChange(t.status())
	}
}

// stopLocked sends SIGTERM to the task now and SIGKILL after grace.
// Stopping a task already stopping only brings its SIGKILL forward.
func (a *Agent) stopLocked(t *task, grace time.Duration, why string) {
	if t.state != api.ReplicaRunning {
		return
	}
	// A stop without the agent's lock (frozen.go) may have armed the
	// SIGKILL sooner: its time holds, which the server counts on.
	killAt := t.live.soonest(time.Now().Add(grace))
	if t.stopping && !killAt.Before(t.killAt) {
		return
	}
	if !t.stopping {
		at, sent, err := t.live.term(why)
		if !sent { // a stop sent it while the agent was stuck (frozen.go): its reason holds
			_, why = t.live.termed()
			killAt = t.live.soonest(at.Add(grace))
			if why == reasonDisconnect {
				t.stopNote = a.disconnectNoteLocked()
			}
		}
		t.stopping, t.reason, t.stopAt = true, why, at
		a.settleSharedLocked(t) // a live task beside it now sets the limit
		if err != nil && !errors.Is(err, syscall.ESRCH) {
			a.log.Warn("SIGTERM failed", "task", t.name(), "pid", t.pid, "err", err)
		}
		a.log.Info("stopping task", "task", t.name(), "pid", t.pid, "why", why, "grace", grace)
		a.notify()
	}
	t.killAt = killAt
	if t.killTimer != nil {
		t.killTimer.Stop()
	}
	name, pid, proc := t.name(), t.pid, t.proc
	t.killTimer = time.AfterFunc(time.Until(killAt), func() {
		// Without the agent's lock, which a stuck call may hold
		// (frozen.go): the grace bounds the stop, as the server counts
		// on. A task that has ended answers ESRCH.
		if err := proc.Signal(syscall.SIGKILL); err == nil {
			a.log.Info("grace over: killed the task's process group", "task", name, "pid", pid)
		}
	})
	t.live.handOver(killAt) // a stop without the lock armed one: this one holds
}

// armDeadlineLocked (re)sets the timer that stops the task at its
// deadline, unless the task ends there on its own (a DeadlineEnder).
func (a *Agent) armDeadlineLocked(t *task) {
	var d time.Time
	if t.spec.Deadline != nil {
		d = *t.spec.Deadline
	}
	if d.Equal(t.deadline) {
		return
	}
	t.deadline = d
	if t.deadlineTimer != nil {
		t.deadlineTimer.Stop()
		t.deadlineTimer = nil
	}
	if e, ok := t.proc.(DeadlineEnder); ok && e.EndAt(d) {
		return
	}
	if d.IsZero() {
		return
	}
	// A timer counts elapsed time, not the wall clock's: should the
	// clock be stepped (NTP correcting it), the deadline is read anew
	// at least every deadlineCheck.
	var timer *time.Timer
	live := t.live
	timer = time.AfterFunc(a.untilDeadlineLocked(d), func() {
		if !a.mu.TryLock() { // a call that may hang holds it (frozen.go)
			if sent := a.stopAtDeadlineFrozen(live, d); !sent || !a.lockSoon() {
				if sent {
					a.log.Error("a task reached its runtime limit while the agent is stuck in a call: stopped without it",
						"pid", live.proc.PID(), "held_over", a.frozenAfter)
				}
				a.mu.Lock()
			}
		}
		defer a.mu.Unlock()
		if !t.deadline.Equal(d) || t.deadlineTimer != timer {
			return
		}
		if left := a.untilDeadlineLocked(d); left > 0 {
			timer.Reset(left)
			return
		}
		a.stopLocked(t, t.grace(), signalRuntimeLimit)
	})
	t.deadlineTimer = timer
}

// untilDeadlineLocked is how long to wait before the deadline d is
// checked: until it by the wall clock, at most deadlineCheck.
func (a *Agent) untilDeadlineLocked(d time.Time) time.Duration {
	return min(max(d.Sub(a.now()), 0), a.deadlineCheck)
}

// holdGPUsLocked counts the task's GPUs in (or out of) use, and tells a
// device set that follows the work (the fake) which are busy.
func (a *Agent) holdGPUsLocked(t *task, hold bool) {
	busier, _ := a.cfg.Devices.(interface{ SetBusy(int, bool) })
	for _, g := range t.spec.GPUs {
		if hold {
			a.gpuUse[g]++
		} else if a.gpuUse[g]--; a.gpuUse[g] <= 0 {
			delete(a.gpuUse, g)
		}
		if busier != nil {
			busier.SetBusy(g, a.gpuUse[g] > 0)
		}
	}
}

// program is the program a command runs, its first word ("" for none).
func program(argv []string) string {
	if len(argv) == 0 {
		return ""
	}
	return argv[0]
}
