package agent

import (
	"strings"
	"testing"
)

// A second agent started on the data directory of a running one is
// refused before it touches anything there: it does not take the
// running agent's caps for a dead agent's, restoring the GPUs' own
// limits under a capped task and forgetting what to restore.
func TestRefusedSecondAgentLeavesTheCapsAlone(t *testing.T) {
	srv := newFakeServer()
	a := startAgent(t, srv) // two H100s, 700 W
	task := sh("j-cap", 0, `exec sleep 30`, nil)
	task.GPUs, task.PowerCapW = []int{1}, 300
	srv.assign(task)
	srv.waitStatus(t, "j-cap", 0, 1, running)
	settled(a)
	if lim := limitOf(a, 1); lim != 300 {
		t.Fatalf("GPU 1 limit %d W while capped, want 300", lim)
	}
	_, err := New(Config{Name: "n1", DataDir: a.cfg.DataDir, Devices: a.cfg.Devices, CPUs: 1, MemoryGiB: 1}, newFakeServer())
	if err == nil || !strings.Contains(err.Error(), "in use by another agent") {
		t.Fatalf("a second agent on the directory: %v; want it refused", err)
	}
	if lim := limitOf(a, 1); lim != 300 {
		t.Errorf("GPU 1 limit %d W after a second agent was refused, want the running task's 300 W cap", lim)
	}
	if got := recordedCaps(t, a); got[1] != 700 {
		t.Errorf("caps.json %v after a second agent was refused, want 700 W still to restore for GPU 1", got)
	}
}
