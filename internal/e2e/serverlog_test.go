package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// A server under a supervisor whose stdout nobody reads still logs where
// it serves, and that it stopped, on stderr.
func TestServerLogsStartAndStop(t *testing.T) {
	s, _ := startCrashServer(t)
	output := func() string {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.out.String()
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(output(), "msg=serving") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if out := output(); !strings.Contains(out, "level=INFO msg=serving") || !strings.Contains(out, "tenant_api=https://"+s.listen) {
		t.Fatalf("no serving line naming the tenant API in the log:\n%s", out)
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("server after SIGTERM: %v", err)
	}
	if out := output(); !strings.Contains(out, "level=INFO msg=stopped") {
		t.Errorf("no stopped line in the log:\n%s", out)
	}
}
