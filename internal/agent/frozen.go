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
	// kill is the SIGKILL a stop without the agent's lock armed (stop);
	// stopped when the task ends or stopLocked's timer takes it over
	kill *time.Timer
	// killAt is when the task's SIGKILL is due, whichever stop armed it
	// (kill, or stopLocked's timer: handOver); zero before any stop
	killAt time.Time
}

// stop sends SIGTERM for the reason why unless a stop already did, and
// arms SIGKILL after the task's grace (at most limit) unless one is due
// sooner, as stopLocked would, without the agent's lock: it only brings
// the SIGKILL of a task already stopping forward. Both happen under the
// live set's lock: stopLocked, reading the live set as it records the
// stop, finds a SIGTERM sent with its SIGKILL's time. It says whether it
// sent the SIGTERM.
func (l *liveProc) stop(why string, limit time.Duration) (sent bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if l.termAt.IsZero() {
		l.termAt, l.why, sent = now, why, true
		err = l.proc.Signal(syscall.SIGTERM)
	}
	grace := min(l.grace, limit)
	if due := now.Add(grace); l.killAt.IsZero() || due.Before(l.killAt) {
		if l.kill != nil {
			l.kill.Stop()
		}
		l.killAt = due
		l.kill = time.AfterFunc(grace, func() { _ = l.proc.Signal(syscall.SIGKILL) })
	}
	return sent, err
}

// soonest is when the task's SIGKILL is to come for a stop that would
// send it at killAt: then, or sooner where a stop armed one sooner (the
// server counts on the SIGKILL of a stop without the agent's lock at the
// end of the grace that stop began with).
func (l *liveProc) soonest(killAt time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.killAt.IsZero() && l.killAt.Before(killAt) {
		return l.killAt
	}
	return killAt
}

// handOver records that stopLocked's timer sends the SIGKILL at killAt
// and stops the one a stop without the agent's lock armed, unless that
// one, armed since stopLocked read the live set (soonest), fires sooner.
func (l *liveProc) handOver(killAt time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.kill != nil && l.killAt.Before(killAt) {
		return
	}
	if l.kill != nil {
		l.kill.Stop()
		l.kill = nil
	}
	l.killAt = killAt
}

// disarm stops the SIGKILL a stop without the agent's lock armed, the
// task being over.
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

// stopFrozen stops every live process, as stopLocked would (SIGTERM
// unless a stop sent it, SIGKILL after its grace, at most limit, unless
// one is due sooner), for the reason why, without the agent's lock. It
// says how many it sent SIGTERM to.
func (a *Agent) stopFrozen(why string, limit time.Duration) int {
	a.liveMu.Lock()
	live := make([]*liveProc, 0, len(a.live))
	for _, l := range a.live {
		live = append(live, l)
	}
	a.liveMu.Unlock()
	n := 0
	for _, l := range live {
		sent, err := l.stop(why, limit)
		if !sent {
			continue
		}
		n++
		if err != nil && !errors.Is(err, syscall.ESRCH) {
			a.log.Warn("SIGTERM failed", "pid", l.proc.PID(), "err", err)
		}
	}
	return n
}

// stopAtDeadlineFrozen stops the live process l at its runtime limit d,
// once the wall clock is past it, as stopLocked would (SIGTERM, SIGKILL
// after its grace), without the agent's lock: a task must not run past
// its runtime limit because a call hangs. The agent records the stop
// when it gets its lock back. It says whether it sent the SIGTERM.
func (a *Agent) stopAtDeadlineFrozen(l *liveProc, d time.Time) bool {
	if l == nil || time.Now().Before(d) {
		return false
	}
	sent, err := l.stop(signalRuntimeLimit, maxGrace)
	if sent && err != nil && !errors.Is(err, syscall.ESRCH) {
		a.log.Warn("SIGTERM failed", "pid", l.proc.PID(), "err", err)
	}
	return sent
}
