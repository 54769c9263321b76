package agent

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

// What an operator reads while the agent cannot reach the server: the
// first failure says until when the tasks run (the stop-after-disconnect
// the server set), the failures that follow are recalled now and then
// (a WARN per outage would otherwise be all that tells a long one from a
// blip), and the recovery says how long the server was gone. Before, the
// first failure said the tasks keep running, though the agent was to
// stop them at the stop-after-disconnect, then nothing above DEBUG until
// the server answered, and the recovery did not say after how long.
func TestServerOutageIsToldClearly(t *testing.T) {
	srv := newFakeServer()
	srv.stopAfter = 3600
	var logs syncBuffer
	ag := startAgent(t, srv, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	ag.mu.Lock()
	ag.failingRemind = 200 * time.Millisecond
	ag.mu.Unlock()
	eventually(t, 5*time.Second, func() bool { return len(srv.heartbeats()) > 0 }, "a heartbeat")

	srv.set(func(s *fakeServer) { s.down = true })
	eventually(t, 5*time.Second, func() bool { return strings.Contains(logs.String(), "heartbeats still fail") },
		"the outage to be recalled; log:\n%s", &logs)
	srv.set(func(s *fakeServer) { s.down = false })
	eventually(t, 5*time.Second, func() bool { return strings.Contains(logs.String(), "heartbeats reach the server again") },
		"the recovery; log:\n%s", &logs)

	var first, back string
	for _, line := range strings.Split(logs.String(), "\n") {
		switch {
		case first == "" && strings.Contains(line, "heartbeat failed"):
			first = line
		case strings.Contains(line, "heartbeats reach the server again"):
			back = line
		}
	}
	if !strings.Contains(first, "stop-after-disconnect") || !strings.Contains(first, "stop_after_disconnect=1h0m0s") {
		t.Errorf("the first failure says %q, want when the tasks stop (the stop-after-disconnect, 1h)", first)
	}
	if !strings.Contains(back, "after=") {
		t.Errorf("the recovery says %q, want how long the server was gone (after=)", back)
	}
}
