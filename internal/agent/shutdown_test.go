package agent

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// frozenWarning is the start of the warning of a shutdown that stops the
// tasks without the agent's lock, a call holding it.
const frozenWarning = "the agent is to stop while a call"

// A shutdown that finds the agent's lock held for a moment (a heartbeat
// being built, a task being recorded) says nothing of a call holding
// it: the lock is free at once and the shutdown takes it. Only a call
// that holds it longer than a moment is worth a warning, and gets one.
// Before, any holder at the instant of the shutdown (TryLock) made the
// agent warn that a call held its lock, sending the operator after a
// hang that was not there.
func TestShutdownWarnsOfAHeldLockOnlyWhenItIsHeld(t *testing.T) {
	for _, tc := range []struct {
		name string
		hold time.Duration
		warn bool
	}{
		{"a moment", 20 * time.Millisecond, false},
		{"a call that hangs", 600 * time.Millisecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeServer()
			var logs syncBuffer
			ag := startAgent(t, srv, func(c *Config) {
				c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			})
			ag.frozenAfter = 200 * time.Millisecond
			ready := filepath.Join(t.TempDir(), "ready")
			srv.assign(sh("j-run", 0, `echo $$ > "$READY"; exec sleep 30`, map[string]string{"READY": ready}))
			readPID(t, ready)
			srv.waitStatus(t, "j-run", 0, 1, running)

			held := make(chan struct{})
			released := make(chan struct{})
			go func() {
				ag.mu.Lock()
				close(held)
				time.Sleep(tc.hold) // the call holding the lock
				ag.mu.Unlock()
				close(released)
			}()
			<-held
			ag.stopForShutdown()
			<-released
			if got := strings.Contains(logs.String(), frozenWarning); got != tc.warn {
				t.Errorf("lock held %s: warned %v, want %v; log:\n%s", tc.hold, got, tc.warn, logs.String())
			}
		})
	}
}
