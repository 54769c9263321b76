package agent

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A task still stopping (its grace running, or an orphan being killed)
// beside the live task that replaced it on its GPU does not set the
// GPU's limit: the live task's cap does, or, uncapped, the GPU's own
// limit. Before, the leftover's cap stayed on the GPU under an uncapped
// replacement, a recap of the leftover overrode the replacement's cap,
// and stayed on once the leftover ended.
func TestLiveTaskCapPrevailsOverAStoppingOne(t *testing.T) {
	srv := newFakeServer()
	a := startAgent(t, srv, func(c *Config) { c.ShutdownGrace = 50 * time.Millisecond }) // two H100s at 700 W, caps 200–700 W
	ready := filepath.Join(t.TempDir(), "ready")
	old := sh("j-old", 0, `trap '' TERM; echo $$ > "$READY"; while :; do sleep 0.05; done`, map[string]string{"READY": ready})
	old.GPUs, old.PowerCapW, old.GraceSeconds = []int{1}, 300, 60
	srv.assign(old)
	readPID(t, ready) // SIGTERM ignored from here on
	srv.waitStatus(t, "j-old", 0, 1, running)
	if lim := limitOf(a, 1); lim != 300 {
		t.Fatalf("GPU 1 limit %d W, want the old task's 300 W cap", lim)
	}

	old.Stop = true
	repl := sh("j-new", 0, `exec sleep 60`, nil)
	repl.GPUs = []int{1}
	srv.assign(old, repl)
	srv.waitStatus(t, "j-new", 0, 1, running)
	settled(a)
	if lim := limitOf(a, 1); lim != 700 {
		t.Errorf("GPU 1 limit %d W under the uncapped live task (the old one stopping), want its own 700 W", lim)
	}

	repl.PowerCapW, old.PowerCapW = 450, 250 // the replacement's cap, then the leftover's recap
	srv.assign(repl, old)
	srv.waitStatus(t, "j-old", 0, 1, func(st api.TaskStatus) bool { return st.PowerCapW != nil && *st.PowerCapW == 250 })
	srv.waitStatus(t, "j-new", 0, 1, func(st api.TaskStatus) bool { return st.PowerCapW != nil && *st.PowerCapW == 450 })
	settled(a)
	if lim := limitOf(a, 1); lim != 450 {
		t.Errorf("GPU 1 limit %d W after the stopping task's recap, want the live task's 450 W cap", lim)
	}

	srv.assign(repl) // the leftover is an orphan now: killed at once
	srv.waitStatus(t, "j-old", 0, 1, ended)
	settled(a)
	if lim := limitOf(a, 1); lim != 450 {
		t.Errorf("GPU 1 limit %d W once the leftover ended, want the live task's 450 W cap", lim)
	}
	repl.PowerCapW = 0
	srv.assign(repl)
	eventually(t, 2*time.Second, func() bool { return limitOf(a, 1) == 700 }, "GPU 1 back at 700 W once the live task's cap is lifted (it is at %d W)", limitOf(a, 1))
}

// When the live task ends first, the GPU takes the cap of the task still
// stopping on it, not the ended one's.
func TestStoppingTaskCapReturnsWhenTheLiveOneEnds(t *testing.T) {
	srv := newFakeServer()
	a := startAgent(t, srv, func(c *Config) { c.ShutdownGrace = 50 * time.Millisecond })
	ready := filepath.Join(t.TempDir(), "ready")
	old := sh("j-old", 0, `trap '' TERM; echo $$ > "$READY"; while :; do sleep 0.05; done`, map[string]string{"READY": ready})
	old.GPUs, old.PowerCapW, old.GraceSeconds = []int{1}, 300, 60
	srv.assign(old)
	readPID(t, ready) // SIGTERM ignored from here on
	srv.waitStatus(t, "j-old", 0, 1, running)
	old.Stop = true
	repl := sh("j-new", 0, `exec sleep 60`, nil)
	repl.GPUs, repl.PowerCapW = []int{1}, 450
	srv.assign(old, repl)
	srv.waitStatus(t, "j-new", 0, 1, running)
	settled(a)
	if lim := limitOf(a, 1); lim != 450 {
		t.Fatalf("GPU 1 limit %d W, want the live task's 450 W cap", lim)
	}
	repl.Stop, repl.GraceSeconds = true, 0
	srv.assign(old, repl)
	srv.waitStatus(t, "j-new", 0, 1, ended)
	settled(a)
	if lim := limitOf(a, 1); lim != 300 {
		t.Errorf("GPU 1 limit %d W once the live task ended, the old one still stopping under its 300 W cap; want 300", lim)
	}
}
