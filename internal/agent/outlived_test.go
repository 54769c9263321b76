package agent

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A task whose processes outlive SIGKILL (a process in uninterruptible
// sleep on its GPU's driver holds its memory; here a zombie of its group
// whose parent, gone out of the task, never reaps it) is reported ended
// after the agent's wait, but its GPUs are reported down for as long as
// one of those processes is there: nothing new is placed on a GPU
// something may still hold. Before, the GPUs were free at once.
func TestGPUsOfProcessesOutlivingSIGKILLAreDown(t *testing.T) {
	srv := newFakeServer()
	a := startAgent(t, srv)
	a.rt.(*processes).groupGone = 300 * time.Millisecond
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "parent.pid")
	// The inner sh forks a child of the task's group that exits at once
	// (a zombie), then leaves the task: a session of its own and an
	// environment without the task's mark, as sleep, which never reaps.
	task := sh("j", 0, `sh -c 'echo $$ > `+pidFile+`; sleep 0 & exec setsid env -i sleep 1000' & sleep 0.3`, nil)
	task.GPUs = []int{1}
	srv.assign(task)
	parent := readPID(t, pidFile)
	t.Cleanup(func() { syscall.Kill(parent, syscall.SIGKILL) })
	srv.waitStatus(t, "j", 0, 1, ended)
	downBeat := func() bool {
		hbs := srv.heartbeats()
		d := hbs[len(hbs)-1].GPUsDown
		return len(d) == 1 && d[0].Index == 1 && strings.Contains(d[0].Reason, "outlived SIGKILL")
	}
	eventually(t, 5*time.Second, downBeat, "a heartbeat with GPU 1 down, held by what outlived SIGKILL")
	syscall.Kill(parent, syscall.SIGKILL) // the zombie goes with its parent
	eventually(t, 5*time.Second, func() bool {
		hbs := srv.heartbeats()
		return len(hbs[len(hbs)-1].GPUsDown) == 0
	}, "a heartbeat with GPU 1 up once nothing of the task is left")
}
