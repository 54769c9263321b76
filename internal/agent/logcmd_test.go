package agent

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The agent's info log names a task's program, not its arguments, which
// may carry secrets (a token on the command line); debug has them.
func TestTaskLogLeavesArgumentsToDebug(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		var out syncBuffer
		srv := newFakeServer()
		log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: level}))
		cancel, done := runGPUAgent(t, srv, Config{Name: "n3", Logger: log})
		ready := filepath.Join(t.TempDir(), "ready")
		srv.assign(sh("j-secret", 0, `echo $$ > "$READY"; sleep 30 # hunter2`, map[string]string{"READY": ready}))
		readPID(t, ready)
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), "task started") && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run = %v", err)
		}
		logs := out.String()
		if !strings.Contains(logs, "task started") || !strings.Contains(logs, "program=/bin/sh") {
			t.Errorf("%v: no task-started line naming the program:\n%s", level, logs)
		}
		if got, want := strings.Contains(logs, "hunter2"), level == slog.LevelDebug; got != want {
			t.Errorf("%v: the command's arguments in the log: %v, want %v:\n%s", level, got, want, logs)
		}
	}
}
