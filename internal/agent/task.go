package agent

import (
	"errors"
	"fmt"
	"slices"
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
	done               chan struct{} // closed when it ended
	reported           bool          // a heartbeat carried its end
	recorded           bool          // listed in startedFile (started.go)
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
		Error: strings.Join(t.errs, "; "), Stopping: t.stopping}
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

// startOneLocked starts a recorded task.
func (a *Agent) startOneLocked(t *task, now time.Time) {
	spec := t.spec
	if a.capLocked(t) {
		t.capSet = spec.PowerCapW
	}
	p, err := a.rt.Start(spec)
	if err != nil {
		code := 126
		var se *StartError
		if errors.As(err, &se) {
			code = se.Code
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
	if at := t.live.termed(); !t.stopping && !at.IsZero() {
		// The disconnect's stop reached it while the agent was stuck
		// (stopFrozen), and the agent had not recorded that stop yet.
		t.stopping, t.reason, t.stopAt, t.stopNote = true, reasonDisconnect, at, a.disconnectNoteLocked()
	}
	t.state, t.endedAt = api.ReplicaExited, x.At.UTC()
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
	killAt := time.Now().Add(grace)
	if t.stopping && !killAt.Before(t.killAt) {
		return
	}
	if !t.stopping {
		at, sent, err := t.live.term()
		t.stopping, t.reason, t.stopAt = true, why, at
		if !sent { // the disconnect's stop sent it while the agent was stuck (stopFrozen)
			killAt = at.Add(grace)
		}
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
	timer = time.AfterFunc(a.untilDeadlineLocked(d), func() {
		a.mu.Lock()
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

// capLocked sets the task's power cap on its GPUs and reports whether
// every GPU took it. Failures go to the task's Error; the task runs
// anyway. A GPU another task holds gets the limit limitLocked says,
// which is the task's cap unless a live task prevails over it.
func (a *Agent) capLocked(t *task) bool {
	w := t.spec.PowerCapW
	if w <= 0 || len(t.spec.GPUs) == 0 {
		return true
	}
	if a.cfg.Devices == nil {
		t.errs = append(t.errs, fmt.Sprintf("power cap %d W: the node has no GPUs", w))
		return false
	}
	t.capped = true
	a.recordCapsLocked() // before the cap: a crash in between leaves nothing to undo
	ok := true
	for _, g := range t.spec.GPUs {
		lim, _ := a.limitLocked(g, t)
		err := a.cfg.Devices.SetPowerLimit(g, lim)
		switch {
		case err == nil:
		case lim == w:
			ok = false
			t.errs = append(t.errs, fmt.Sprintf("power cap: %v", err))
			a.log.Warn("cannot cap GPU power", "task", t.name(), "gpu", g, "watts", w, "err", err)
		default:
			a.log.Warn("cannot set the GPU power limit another task calls for", "task", t.name(), "gpu", g, "watts", lim, "err", err)
		}
	}
	return ok
}

// uncapLocked gives an ended capped task's GPUs the limit the tasks
// still holding them call for (limitLocked): the limit they had when the
// agent started, when none is capped.
func (a *Agent) uncapLocked(t *task) {
	a.restoreLocked(t, false)
}

// recapLocked applies a running task's new power cap w, which the
// server changed while it runs (a recap): raised on power lent to the
// task, or lowered to take that power back, never below the cap the
// task started with. The new limit goes on its GPUs, or, at 0, the limit
// they had when the agent started, unless another capped task holds
// them. As at the start, the cap is recorded (caps.json) before it is
// set and failures go to the task's Error; the task runs on. A lower cap
// a GPU refuses is logged as an error: the GPU keeps the higher limit,
// and may draw power the scheduler gave another job. The limit now in
// force goes to the server at once (a heartbeat): a start that counts on
// the power a lowering frees waits for it (the server's capwait.go).
func (a *Agent) recapLocked(t *task, w int) {
	old := t.spec.PowerCapW
	if w == old || len(t.spec.GPUs) == 0 {
		return
	}
	t.spec.PowerCapW = w
	defer a.notify()
	if w == 0 {
		a.liftLocked(t)
		t.capSet = 0
	} else if !a.capLocked(t) {
		if old == 0 || w < old {
			a.log.Error("GPU power limit stays above its task's lowered cap: its GPUs may draw power the scheduler gave another job",
				"task", t.name(), "gpus", t.spec.GPUs, "from_watts", old, "to_watts", w)
		} else {
			t.capSet = w // some GPUs may have taken the higher limit
		}
		return
	}
	t.capSet = w
	a.log.Info("task's power cap changed", "task", t.name(), "gpus", t.spec.GPUs, "from_watts", old, "to_watts", w)
}

// liftLocked lifts a running task's cap: its GPUs get back the limit
// they had when the agent started, but for those another task's cap
// holds (limitLocked).
func (a *Agent) liftLocked(t *task) {
	a.restoreLocked(t, true)
}

// restoreLocked ends capped task t's cap: each of its GPUs gets the
// limit limitLocked says, the limit it had when the agent started when
// no task's cap holds it; a task that runs on (running) also gets a
// failure to restore that in its error. A GPU that refuses its own
// limit stays recorded in caps.json and is tried again
// (retryUncapsLocked).
func (a *Agent) restoreLocked(t *task, running bool) {
	if !t.capped {
		return
	}
	t.capped = false
	a.settleLocked(t, t.spec.GPUs, running)
	a.recordCapsLocked()
}

// settleLocked gives each of gpus the limit the tasks holding it call
// for (limitLocked); t is the task whose change calls for it, whose
// error, when it runs on (running), says that a GPU refused its own
// limit.
func (a *Agent) settleLocked(t *task, gpus []int, running bool) {
	for _, g := range gpus {
		lim, capped := a.limitLocked(g, nil)
		if lim <= 0 {
			continue // the GPU's own limit is not known
		}
		err := a.cfg.Devices.SetPowerLimit(g, lim)
		switch {
		case capped && err != nil:
			a.log.Warn("cannot set the GPU power limit another task calls for", "task", t.name(), "gpu", g, "watts", lim, "err", err)
		case capped:
		case err != nil:
			if running {
				t.errs = append(t.errs, fmt.Sprintf("power cap lifted: %v", err))
			}
			a.log.Warn("cannot restore GPU power limit; trying again at every heartbeat", "task", t.name(), "gpu", g, "watts", lim, "err", err)
			a.uncapDue[g] = true
		default:
			delete(a.uncapDue, g)
		}
	}
}

// limitLocked is the power limit GPU g calls for, and whether it is a
// task's cap: the lowest cap of the capped tasks running on it, counting
// only the live ones (not stopping) when a live one runs there, so that
// a task still stopping (in its grace, or an orphan being killed) never
// sets the limit under the live task that replaced it; the GPU's own
// limit (when the agent started) when none of those is capped. starting,
// when not nil, is a task about to start, counted as running.
func (a *Agent) limitLocked(g int, starting *task) (w int, capped bool) {
	var live bool
	liveCap, stopCap := 0, 0
	for _, u := range a.tasks {
		if u != starting && u.state != api.ReplicaRunning || !slices.Contains(u.spec.GPUs, g) {
			continue
		}
		c := 0
		if u.capped {
			c = u.spec.PowerCapW
		}
		if !u.stopping {
			live = true
			if c > 0 && (liveCap == 0 || c < liveCap) {
				liveCap = c
			}
		} else if c > 0 && (stopCap == 0 || c < stopCap) {
			stopCap = c
		}
	}
	c := stopCap
	if live {
		c = liveCap
	}
	if c > 0 {
		return c, true
	}
	return a.baseLimits[g], false
}

// settleSharedLocked gives those of t's GPUs that another running task
// holds too the limit limitLocked says, now that t started or stops.
func (a *Agent) settleSharedLocked(t *task) {
	if a.cfg.Devices == nil {
		return
	}
	var shared []int
	for _, g := range t.spec.GPUs {
		if a.sharedLocked(t, g) {
			shared = append(shared, g)
		}
	}
	if len(shared) > 0 {
		a.settleLocked(t, shared, false)
		a.recordCapsLocked()
	}
}

// sharedLocked reports whether a running task other than t holds GPU g.
func (a *Agent) sharedLocked(t *task, g int) bool {
	for _, u := range a.tasks {
		if u != t && u.state == api.ReplicaRunning && slices.Contains(u.spec.GPUs, g) {
			return true
		}
	}
	return false
}

// program is the program a command runs, its first word ("" for none).
func program(argv []string) string {
	if len(argv) == 0 {
		return ""
	}
	return argv[0]
}
