package agent

import (
	"fmt"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// reasonDisconnect is why a task is stopped once the agent has gone
// without the server for the server's StopAfterDisconnect.
const reasonDisconnect = "disconnect"

// contactLocked notes that the server answered a call (a registration
// or a heartbeat) sent at sent, and (re)arms the disconnect timer: after
// the server's StopAfterDisconnect from sent without another answer,
// stopDisconnected stops every task. The server counts a silent node's
// replicas lost only after that time, from when it recorded the call,
// plus their grace, so their next attempts never overlap these. It is
// counted from the call, not its answer: an answer that took long (a
// slow commit, a congested network) must not move the agent's stop past
// the server's count; an answer that took the whole setting stops the
// tasks at once. Without the setting the timer is off and tasks run on.
func (a *Agent) contactLocked(sent time.Time) {
	d := a.stopAfterDisconnect
	if d <= 0 {
		if a.disconnectTimer != nil {
			a.disconnectTimer.Stop()
			a.disconnectTimer = nil
		}
		return
	}
	left := max(d-time.Since(sent), 0)
	if a.disconnectTimer == nil {
		a.disconnectTimer = time.AfterFunc(left, a.stopDisconnected)
		return
	}
	a.disconnectTimer.Reset(left)
}

// stopDisconnected stops every running task: the server has not
// answered for StopAfterDisconnect. Each task gets its grace before
// SIGKILL and its end carries why (unless it had ended by itself). When
// the agent's lock is held (by a call that may hang: the server counts
// on this stop), the processes are signalled without it first
// (stopFrozen), and the stop recorded once the lock is free; the agent
// is said to be stuck only when the lock is not free within frozenAfter.
func (a *Agent) stopDisconnected() {
	if !a.mu.TryLock() {
		n := a.stopFrozen(reasonDisconnect, maxGrace)
		if !a.lockSoon() {
			if n > 0 {
				a.log.Error("the server has not answered for the stop-after-disconnect time and the agent is stuck in a call: its tasks were signalled without it",
					"tasks", n, "held_over", a.frozenAfter)
			}
			a.mu.Lock()
		}
	}
	defer a.mu.Unlock()
	if a.closing {
		return
	}
	a.disconnected = true
	why := a.disconnectNoteLocked()
	n := 0
	for _, t := range a.tasks {
		if t.state != api.ReplicaRunning || t.stopping {
			continue
		}
		t.stopNote = why
		a.stopLocked(t, t.grace(), reasonDisconnect)
		n++
	}
	if n > 0 {
		a.log.Warn("the server has not answered for the stop-after-disconnect time: stopping every task, as it will count them lost",
			"after", a.stopAfterDisconnect, "tasks", n)
	}
}

// disconnectNoteLocked is the Error of a task the disconnect's stop
// ended.
func (a *Agent) disconnectNoteLocked() string {
	return fmt.Sprintf("stopped by its agent: no heartbeat answered for %s (the server's stop-after-disconnect)", a.stopAfterDisconnect)
}

// reconnectedLocked follows a heartbeat answered with assignments
// version v after the agent stopped its tasks for the disconnect: the
// tasks it held back start now when the assignments it holds are v (the
// server had not counted them lost when it answered); otherwise the
// poller fetches v, which starts those still listed. Caller holds mu.
func (a *Agent) reconnectedLocked(v int64) {
	if !a.disconnected {
		return
	}
	a.disconnected = false
	if a.held && a.version == v {
		a.held = false
		a.log.Info("the server answers again: starting the tasks held back while it did not")
		a.applyLocked(a.lastAs)
	}
}

// secondsOf converts a server's seconds to a duration: 0 for a value
// not above zero (or NaN), capped at maxGrace (which keeps the
// conversion in range).
func secondsOf(s float64) time.Duration {
	switch {
	case !(s > 0):
		return 0
	case s >= maxGrace.Seconds():
		return maxGrace
	}
	return time.Duration(s * float64(time.Second))
}
