package agent

import (
	"log/slog"
	"os/exec"
	"testing"
	"time"
)

// An agent that inherits orphans walks /proc for those that ended only
// after a child of its own changed state (SIGCHLD), not at every
// heartbeat: a node of thousands of processes is walked for nothing
// while every task runs on. Before, each heartbeat walked /proc.
func TestReapingOrphansWaitsForAChildToEnd(t *testing.T) {
	r := newProcesses(t.TempDir(), 0, slog.New(slog.DiscardHandler))
	r.inherits = true
	r.watchChildren()
	t.Cleanup(r.stopWatching)
	r.reapOrphans() // the first walks: an orphan may have ended before the agent watched
	before := procWalks.Load()
	for range 10 {
		r.reapOrphans()
	}
	if n := procWalks.Load() - before; n != 0 {
		t.Errorf("10 heartbeats with no child ended walked /proc %d times, want none", n)
	}
	if err := exec.Command("true").Run(); err != nil { // a child ends: SIGCHLD
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, func() bool {
		r.reapOrphans()
		return procWalks.Load() > before
	}, "a heartbeat after a child ended to walk /proc")
}
