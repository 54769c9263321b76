package agent

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// An agent restarted while the server is out of reach reports the ends
// its tasks had as they were, not as a crash's: a task that finished by
// itself (exit 0) is reported exited 0, one its shutdown stopped lost
// for that shutdown. Before, the next agent took every task whose end no
// heartbeat had carried for one a dead agent left, and reported it lost
// ("the node's agent died…"): a replica that had succeeded was retried.
func TestRestartReportsUnreportedEndsAsTheyWere(t *testing.T) {
	srv := newFakeServer()
	dir := t.TempDir()
	newAgent := func() *Agent {
		ag, err := New(Config{Name: "n1", DataDir: dir, CPUs: 1, MemoryGiB: 1, Heartbeat: 50 * time.Millisecond,
			ShutdownGrace: 2 * time.Second,
			Logger:        slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))}, srv)
		if err != nil {
			t.Fatal(err)
		}
		return ag
	}
	ag := newAgent()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	eventually(t, 5*time.Second, func() bool { return len(srv.registrations()) == 1 }, "the registration")
	srv.set(func(s *fakeServer) { s.down = true }) // heartbeats fail from now on
	ok, long := sh("j-ok", 0, "exit 0", nil), sh("j-long", 0, "exec sleep 30", nil)
	srv.assign(ok, long)
	state := func(k taskKey) string {
		ag.mu.Lock()
		defer ag.mu.Unlock()
		if t := ag.tasks[k]; t != nil {
			return t.state
		}
		return ""
	}
	eventually(t, 5*time.Second, func() bool {
		return state(keyOf(ok)) == api.ReplicaExited && state(keyOf(long)) == api.ReplicaRunning
	}, "j-ok to end and j-long to run")
	cancel() // a restart: the shutdown stops j-long, and cannot report either
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}

	srv.set(func(s *fakeServer) { s.down = false })
	ctx2, cancel2 := context.WithCancel(t.Context())
	done2 := make(chan error, 1)
	defer func() { cancel2(); <-done2 }()
	ag2 := newAgent() // its registration carries what it took over
	go func() { done2 <- ag2.Run(ctx2) }()
	eventually(t, 5*time.Second, func() bool { return len(srv.registrations()) == 2 }, "the second registration")
	reg := srv.registrations()[1]
	got := map[string]api.TaskStatus{}
	for _, st := range reg.Tasks {
		got[st.Job] = st
	}
	if st := got["j-ok"]; st.State != api.ReplicaExited || st.ExitCode == nil || *st.ExitCode != 0 {
		t.Errorf("j-ok registered as %+v, want exited 0, as it ended", st)
	}
	if st := got["j-long"]; st.State != api.ReplicaLost || !strings.Contains(st.Error, "shutting down") {
		t.Errorf("j-long registered as %+v, want lost, stopped by its agent's shutdown", st)
	}
}
