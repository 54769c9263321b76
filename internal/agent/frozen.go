package agent

import (
	"errors"
	"sync"
	"syscall"
	"time"
)

// The agent's lock is held across calls that may not return: NVML (a
// power limit set as a task starts or is recapped), fsync and fork/exec
// on a disk that hangs. A frozen call freezes the heartbeats, which need
// the lock, so the server counts the node silent, as it should; but the
// stop-after-disconnect, which the server counts on before it starts the
// silent node's replicas elsewhere, must not wait for that lock. So each
// running task's process is also kept in the agent's live set, under a
// lock of its own that no slow call holds, and the disconnect's stop, a
// runtime limit's and the shutdown's signal the processes there when the
// agent's lock is taken (stopFrozen); the agent records the stop once it
// gets its lock back.

// liveProc is a running task's process as its stop without the agent's
// lock needs it.
type liveProc struct {
	proc Process

	mu     sync.Mutex
	grace  time.Duration // the task's, kept up to date under the agent's lock
	termAt time.Time     // when its stop sent SIGTERM; zero before
	why    string        // that stop's reason (reasonDisconnect, signalRuntimeLimit, …)
	kill   *time.Timer   // stopFrozen's SIGKILL after the grace; stopped when the task ends or stopLocked arms its own
	killAt time.Time     // when kill fires; zero without it
}

// armKill arms the SIGKILL of a stop without the agent's lock, d from
// now.
func (l *liveProc) armKill(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.killAt = time.Now().Add(d)
	l.kill = time.AfterFunc(d, func() { _ = l.proc.Signal(syscall.SIGKILL) })
}

// killDue is when the SIGKILL armKill armed fires; zero without one.
func (l *liveProc) killDue() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.killAt
}

// disarm stops the SIGKILL a stop without the agent's lock armed
// (stopFrozen, stopAtDeadlineFrozen): the task is over, or the stop's
// own timer (stopLocked) has taken the SIGKILL over.
func (l *liveProc) disarm() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.kill != nil {
		l.kill.Stop()
	}
}

// setGrace records the task's grace.
func (l *liveProc) setGrace(d time.Duration) {
	l.mu.Lock()
	l.grace = d
	l.mu.Unlock()
}

// term sends SIGTERM for reason why unless a stop already did, and says
// when the first was sent.
func (l *liveProc) term(why string) (at time.Time, sent bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.termAt.IsZero() {
		return l.termAt, false, nil
	}
	l.termAt, l.why = time.Now(), why
	return l.termAt, true, l.proc.Signal(syscall.SIGTERM)
}

// termed is when a stop sent SIGTERM (zero before), and why.
func (l *liveProc) termed() (time.Time, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.termAt, l.why
}

// addLiveLocked and dropLiveLocked keep the live set: from a task's start to its end.
// Caller holds mu.
func (a *Agent) addLiveLocked(t *task) {
	t.live = &liveProc{proc: t.proc, grace: t.grace()}
	a.liveMu.Lock()
	a.live[t.key] = t.live
	a.liveMu.Unlock()
}

func (a *Agent) dropLiveLocked(t *task) {
	a.liveMu.Lock()
	delete(a.live, t.key)
	a.liveMu.Unlock()
}

// stopFrozen stops every live process that no stop has reached yet, as
// stopLocked would (SIGTERM, SIGKILL after its grace, at most limit),
// for the reason why, without the agent's lock. It says how many it
// stopped.
func (a *Agent) stopFrozen(why string, limit time.Duration) int {
	a.liveMu.Lock()
	live := make([]*liveProc, 0, len(a.live))
	for _, l := range a.live {
		live = append(live, l)
	}
	a.liveMu.Unlock()
	n := 0
	for _, l := range live {
		_, sent, err := l.term(why)
		if !sent {
			continue
		}
		n++
		if err != nil && !errors.Is(err, syscall.ESRCH) {
			a.log.Warn("SIGTERM failed", "pid", l.proc.PID(), "err", err)
		}
		l.mu.Lock()
		grace := min(l.grace, limit)
		l.mu.Unlock()
		l.armKill(grace)
	}
	return n
}

// stopAtDeadlineFrozen stops the live process l at its runtime limit d,
// once the wall clock is past it, as stopLocked would (SIGTERM, SIGKILL
// after its grace), without the agent's lock: a task must not run past
// its runtime limit because a call hangs. The agent records the stop
// when it gets its lock back.
func (a *Agent) stopAtDeadlineFrozen(l *liveProc, d time.Time) {
	if l == nil || time.Now().Before(d) {
		return
	}
	_, sent, err := l.term(signalRuntimeLimit)
	if !sent {
		return
	}
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		a.log.Warn("SIGTERM failed", "pid", l.proc.PID(), "err", err)
	}
	l.mu.Lock()
	grace := l.grace
	l.mu.Unlock()
	l.armKill(grace)
	a.log.Error("a task reached its runtime limit while the agent is stuck in a call: stopped without it", "pid", l.proc.PID())
}
