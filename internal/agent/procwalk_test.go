package agent

import (
	"log/slog"
	"testing"
)

// Clearing an ended task's process group walks /proc once a pass, for
// its group's members and its marked processes together: it runs every
// 10 ms while any is left, on a node of thousands of processes. Before,
// each pass walked /proc twice.
func TestClearingAGroupWalksProcOnceAPass(t *testing.T) {
	r := newProcesses(t.TempDir(), 0, slog.New(slog.DiscardHandler))
	p, err := r.Start(sh("j-walk", 0, `exit 0`, nil))
	if err != nil {
		t.Fatal(err)
	}
	waitExited(p.PID())
	before := procWalks.Load()
	p.(*process).clearGroup(true) // nothing left: one pass
	if n := procWalks.Load() - before; n != 1 {
		t.Errorf("one pass of clearing the group walked /proc %d times, want 1", n)
	}
	if x := p.Wait(); x.Err != nil || x.Code != 0 {
		t.Errorf("the task ended with %+v, want exit 0", x)
	}
}
