package agent

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A node whose certificates an operator-admin revoked (carnot
// revoke-node) is refused at every call (401, api.ProblemNodeRevoked)
// until it enrolls again with a join token, which takes carnot
// reenroll-node first: no retry passes on its own, so the agent does not
// retry as it does through an outage. It logs so once, at ERROR, and
// ends the session: it fetches and starts no new work and sends no
// heartbeat. Its running tasks are handled as when the server is out of
// reach (the server counts them so: its node goes silent): they run on,
// until the server's stop-after-disconnect when it set one. Then:
//
//   - with Config.Reenroll (a join token given: carnot agent with
//     CARNOT_JOIN_TOKEN, a fleet with its join token), the agent enrolls
//     again, as at its start, retried (30 s doubling to 5 min) until an
//     operator-admin allowed it, and registers anew with its tasks;
//   - without, Run ends once its tasks have ended, with ErrRevoked: the
//     agent's process exits non-zero, and its operator restarts it with a
//     join token once an operator-admin allowed the node again.

// ErrRevoked is why Run ends when the server refused the node's
// certificate as revoked by an operator-admin and the agent has no
// Config.Reenroll: it cannot report again until it enrolls again.
var ErrRevoked = errors.New("node certificate revoked by the control plane; re-enroll with a join token (an operator-admin allows it first with carnot reenroll-node)")

// isRevoked reports whether err is the server's answer to a node whose
// certificates were revoked.
func isRevoked(err error) bool {
	var p *api.Problem
	return errors.As(err, &p) && p.Status == http.StatusUnauthorized && p.Type == api.ProblemNodeRevoked
}

// revoked follows the server's refusal err of the node's certificate as
// revoked, once the session ended: it says so, then, with
// Config.Reenroll, enrolls again, and reports whether it did (the
// agent then registers anew); without, it waits for the running tasks
// to end and reports false. It reports false once ctx is done.
func (a *Agent) revoked(ctx context.Context, err error) bool {
	a.mu.Lock()
	n := a.runningLocked()
	stopAfter := a.stopAfterDisconnect
	a.mu.Unlock()
	then := "they run on, as when the server is out of reach"
	if stopAfter > 0 {
		then = "they run on until the server's stop-after-disconnect, as when the server is out of reach"
	}
	args := []any{"err", err, "running_tasks", n, "tasks", then}
	if a.cfg.Reenroll == nil {
		a.log.Error("node certificate revoked by the control plane; re-enroll with a join token: this agent starts no new work and exits once its tasks have ended "+
			"(an operator-admin allows the node with carnot reenroll-node; restart the agent with CARNOT_JOIN_TOKEN set)", args...)
		a.waitTasks(ctx, n)
		return false
	}
	a.log.Error("node certificate revoked by the control plane; re-enrolling with the join token: this agent starts no new work until it has "+
		"(an operator-admin allows the node with carnot reenroll-node)", args...)
	wait := a.refusedMin
	for attempt := 1; ; attempt++ {
		err := a.cfg.Reenroll(ctx)
		if err == nil {
			a.log.Info("node enrolled again with the join token; registering again", "attempt", attempt)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		d := jitter(wait)
		level := slog.LevelDebug // the first failure at WARN, the next quietly
		if attempt == 1 {
			level = slog.LevelWarn
		}
		a.log.Log(ctx, level, "cannot enroll the node again yet (has an operator-admin allowed it with carnot reenroll-node?); retrying",
			"attempt", attempt, "in", d.Round(time.Millisecond), "err", err)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
		}
		wait = a.nextWait(wait, true) // as after a refused registration
	}
}

// waitTasks waits until the n running tasks have ended, or ctx is
// done. No task starts meanwhile: the session has ended.
func (a *Agent) waitTasks(ctx context.Context, n int) {
	if n == 0 {
		return
	}
	a.log.Info("waiting for the running tasks to end before exiting", "tasks", n)
	done := make(chan struct{})
	go func() { a.procs.Wait(); close(done) }()
	select {
	case <-ctx.Done():
	case <-done:
	}
}

// runningLocked counts the running tasks. Caller holds mu.
func (a *Agent) runningLocked() int {
	n := 0
	for _, t := range a.tasks {
		if t.state == api.ReplicaRunning {
			n++
		}
	}
	return n
}
