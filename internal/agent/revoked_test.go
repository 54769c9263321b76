package agent

import (
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// An agent whose certificate the server refuses as revoked while a task
// runs stops calling the server at once (one refused heartbeat, no
// retry), and handles the task as when the server is out of reach
// without a stop-after-disconnect: it runs on, unsignalled, and the
// agent ends (ErrRevoked) once it has ended. Before, the agent retried
// every heartbeat for ever, as through an outage.
func TestRevokedAgentLetsItsTaskEndThenExits(t *testing.T) {
	srv := newFakeServer()
	var logs syncBuffer
	dir := t.TempDir()
	cancel, done := runGPUAgent(t, srv, Config{Name: "n1", Heartbeat: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	defer cancel()
	srv.assign(sh("j1", 0, `while [ ! -e "$D/go" ]; do sleep 0.02; done; touch "$D/finished"`, map[string]string{"D": dir}))
	srv.waitStatus(t, "j1", 0, 1, running)

	srv.set(func(s *fakeServer) {
		s.hbRefuse = &api.Problem{Type: api.ProblemNodeRevoked, Status: http.StatusUnauthorized, Detail: "node n1's certificates were revoked"}
	})
	eventually(t, 5*time.Second, func() bool { return strings.Contains(logs.String(), "level=ERROR") }, "the revocation told; log:\n%s", &logs)
	select {
	case err := <-done:
		t.Fatalf("the agent ended while its task runs: %v", err)
	default:
	}
	if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrRevoked) {
			t.Errorf("Run: %v; want ErrRevoked", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the agent still runs 10 s after its task was let end; log:\n%s", &logs)
	}
	if _, err := os.Stat(filepath.Join(dir, "finished")); err != nil {
		t.Errorf("the task did not finish by itself (stopped by the agent?): %v", err)
	}
	srv.mu.Lock()
	refused := srv.hbRefused
	srv.mu.Unlock()
	if refused != 1 {
		t.Errorf("%d heartbeats refused as revoked; want 1: the agent does not retry a revocation", refused)
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 {
		t.Errorf("%d ERROR lines; want 1:\n%s", n, &logs)
	}
}
