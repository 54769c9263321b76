package agent

import (
	"errors"
	"fmt"
	"os/exec"
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

// task is one process the agent started (or refused to start). The
// agent's mutex guards it.
type task struct {
	key  taskKey
	spec api.Task

	state              string // api.ReplicaRunning, ReplicaExited, ReplicaFailed
	pid                int    // also the process group's ID
	exitCode           *int
	signal             string
	startedAt, endedAt time.Time
	errs               []string
	stopping           bool
	reason             string // why it was stopped
	killAt             time.Time
	killTimer          *time.Timer
	deadline           time.Time
	deadlineTimer      *time.Timer
	capped             bool          // the agent set its GPUs' power limit
	done               chan struct{} // closed when it ended
	reported           bool          // a heartbeat carried its end
}

func (t *task) name() string {
	return fmt.Sprintf("%s/%d/%d", t.key.Job, t.key.Replica, t.key.Attempt)
}

// maxGrace bounds a task's grace (and keeps the conversion in range).
const maxGrace = 24 * time.Hour

// grace is the task's grace between SIGTERM and SIGKILL: 0 when unset,
// negative or NaN.
func (t *task) grace() time.Duration {
	g := t.spec.GraceSeconds
	switch {
	case !(g > 0):
		return 0
	case g >= maxGrace.Seconds():
		return maxGrace
	}
	return time.Duration(g * float64(time.Second))
}

func (t *task) status() api.TaskStatus {
	s := api.TaskStatus{Job: t.key.Job, Replica: t.key.Replica, Attempt: t.key.Attempt,
		State: t.state, PID: t.pid, ExitCode: t.exitCode, Signal: t.signal,
		Error: strings.Join(t.errs, "; "), Stopping: t.stopping}
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

// startLocked starts a task's process. A task that cannot start is
// recorded as failed.
func (a *Agent) startLocked(spec api.Task, now time.Time) {
	k := keyOf(spec)
	t := &task{key: k, spec: spec, done: make(chan struct{})}
	a.tasks[k], a.started[k] = t, true
	defer a.notify()
	cmd, logs, err := a.command(spec)
	if err != nil {
		a.failLocked(t, now, 126, fmt.Errorf("prepare: %w", err))
		return
	}
	defer logs.close()
	a.capLocked(t)
	if err := cmd.Start(); err != nil {
		code := 126
		if isNotFoundErr(err) {
			code = 127
		}
		fmt.Fprintf(logs.stderr, "carnot: cannot start %q: %v\n", spec.Command, err)
		a.failLocked(t, now, code, fmt.Errorf("start: %w", err))
		return
	}
	t.state, t.pid, t.startedAt = api.ReplicaRunning, cmd.Process.Pid, now
	a.holdGPUsLocked(t, true)
	a.armDeadlineLocked(t)
	a.saveGroupsLocked()
	a.log.Info("task started", "task", t.name(), "pid", t.pid, "command", spec.Command, "gpus", spec.GPUs)
	a.procs.Add(1)
	go a.wait(t, cmd)
}

// failLocked records a task that could not start.
func (a *Agent) failLocked(t *task, now time.Time, code int, err error) {
	t.state, t.exitCode, t.endedAt = api.ReplicaFailed, &code, now
	t.errs = append(t.errs, err.Error())
	a.uncapLocked(t)
	close(t.done)
	a.log.Warn("task failed to start", "task", t.name(), "exit_code", code, "err", err)
}

// wait waits for the task's process to end, kills what is left of its
// process group and records the end.
func (a *Agent) wait(t *task, cmd *exec.Cmd) {
	defer a.procs.Done()
	err := cmd.Wait()
	now := time.Now().UTC()
	a.clearGroup(t)
	a.mu.Lock()
	t.state, t.endedAt = api.ReplicaExited, now
	var ws syscall.WaitStatus
	if cmd.ProcessState != nil {
		ws, _ = cmd.ProcessState.Sys().(syscall.WaitStatus)
	}
	if cmd.ProcessState != nil {
		code := ws.ExitStatus()
		if ws.Signaled() {
			code = 128 + int(ws.Signal())
			t.signal = ws.Signal().String()
		}
		t.exitCode = &code
	} else {
		t.errs = append(t.errs, fmt.Sprintf("wait: %v", err))
	}
	if t.reason == signalRuntimeLimit {
		t.signal = signalRuntimeLimit
	}
	for _, timer := range []*time.Timer{t.killTimer, t.deadlineTimer} {
		if timer != nil {
			timer.Stop()
		}
	}
	a.holdGPUsLocked(t, false)
	a.uncapLocked(t)
	a.saveGroupsLocked()
	close(t.done)
	code, signal := -1, t.signal
	if t.exitCode != nil {
		code = *t.exitCode
	}
	a.mu.Unlock()
	a.notify()
	a.log.Info("task ended", "task", t.name(), "pid", t.pid, "exit_code", code,
		"signal", signal, "ran", now.Sub(t.startedAt).Round(time.Millisecond))
}

// groupGoneWait bounds how long the agent waits, after a task's main
// process ended, for the rest of its process group to be gone.
const groupGoneWait = 5 * time.Second

// clearGroup kills what is left of the task's process group (its main
// process has ended and been reaped) and waits until no member remains,
// so that an ended task holds nothing on its GPUs. Members are gone once
// their parent (init, usually) reaped them; after groupGoneWait the agent
// gives up and reports the task ended anyway.
func (a *Agent) clearGroup(t *task) {
	deadline := time.Now().Add(groupGoneWait)
	for {
		if err := syscall.Kill(-t.pid, syscall.SIGKILL); errors.Is(err, syscall.ESRCH) {
			return
		}
		if time.Now().After(deadline) {
			a.log.Warn("processes of the task's group outlive SIGKILL; reporting it ended anyway",
				"task", t.name(), "pgid", t.pid)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stopLocked sends SIGTERM to the task's process group now and SIGKILL
// after grace. Stopping a task already stopping only brings its SIGKILL
// forward.
func (a *Agent) stopLocked(t *task, grace time.Duration, why string) {
	if t.state != api.ReplicaRunning {
		return
	}
	killAt := time.Now().Add(grace)
	if t.stopping && !killAt.Before(t.killAt) {
		return
	}
	if !t.stopping {
		t.stopping, t.reason = true, why
		if err := syscall.Kill(-t.pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			a.log.Warn("SIGTERM failed", "task", t.name(), "pid", t.pid, "err", err)
		}
		a.log.Info("stopping task", "task", t.name(), "pid", t.pid, "why", why, "grace", grace)
		a.notify()
	}
	t.killAt = killAt
	if t.killTimer != nil {
		t.killTimer.Stop()
	}
	t.killTimer = time.AfterFunc(grace, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if t.state == api.ReplicaRunning {
			a.log.Info("grace over: killing the task's process group", "task", t.name(), "pid", t.pid)
			_ = syscall.Kill(-t.pid, syscall.SIGKILL)
		}
	})
}

// armDeadlineLocked (re)sets the timer that stops the task at its
// deadline.
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
	if d.IsZero() {
		return
	}
	t.deadlineTimer = time.AfterFunc(max(time.Until(d), 0), func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if t.deadline.Equal(d) {
			a.stopLocked(t, t.grace(), signalRuntimeLimit)
		}
	})
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

// capLocked sets the task's power cap on its GPUs. Failures go to the
// task's Error; the task runs anyway.
func (a *Agent) capLocked(t *task) {
	w := t.spec.PowerCapW
	if w <= 0 || len(t.spec.GPUs) == 0 {
		return
	}
	if a.cfg.Devices == nil {
		t.errs = append(t.errs, fmt.Sprintf("power cap %d W: the node has no GPUs", w))
		return
	}
	t.capped = true
	for _, g := range t.spec.GPUs {
		if err := a.cfg.Devices.SetPowerLimit(g, w); err != nil {
			t.errs = append(t.errs, fmt.Sprintf("power cap: %v", err))
			a.log.Warn("cannot cap GPU power", "task", t.name(), "gpu", g, "watts", w, "err", err)
		}
	}
}

// uncapLocked puts the power limit of a capped task's GPUs back to what
// it was when the agent started, unless another capped task holds them.
func (a *Agent) uncapLocked(t *task) {
	if !t.capped {
		return
	}
	t.capped = false
	for _, g := range t.spec.GPUs {
		base, ok := a.baseLimits[g]
		if !ok || base <= 0 || a.gpuUse[g] > 0 {
			continue
		}
		if err := a.cfg.Devices.SetPowerLimit(g, base); err != nil {
			a.log.Warn("cannot restore GPU power limit", "gpu", g, "watts", base, "err", err)
		}
	}
}
