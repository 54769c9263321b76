package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A running task's log that cannot be written for want of room (a disk
// filled while the task runs) makes the node take no new work at once:
// the next heartbeat says so (DiskError), as a failed start does, and
// the probe of the data directory clears it once it takes writes again.
// Before, the agent said nothing until a start failed on the full disk,
// costing that job an attempt (exit code 126).
func TestFullDiskFoundByALogWriteIsReported(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full to fill a disk with: %v", err)
	}
	defer full.Close()
	srv := newFakeServer()
	a := startAgent(t, srv)
	srv.assign(sh("j", 0, "while :; do echo line; sleep 0.02; done", nil))
	srv.waitStatus(t, "j", 0, 1, running)
	r := a.rt.(*processes)
	path := logPath(a.cfg.DataDir, taskKey{Job: "j", Replica: 0, Attempt: 1}, "stdout")
	r.liveMu.Lock()
	l := r.live[path]
	r.liveMu.Unlock()
	if l == nil {
		t.Fatalf("no live stream %s", filepath.Base(path))
	}
	l.mu.Lock()
	file := l.f
	l.f = full // every write now fails with ENOSPC
	l.mu.Unlock()
	eventually(t, 5*time.Second, func() bool {
		for _, hb := range srv.heartbeats() {
			if strings.Contains(hb.DiskError, "no space left on device") {
				return true
			}
		}
		return false
	}, "a heartbeat saying the disk is full")
	l.mu.Lock()
	l.f = file // room again
	l.mu.Unlock()
	eventually(t, 5*time.Second, func() bool {
		hbs := srv.heartbeats()
		return hbs[len(hbs)-1].DiskError == ""
	}, "a heartbeat without the disk error once the disk takes writes")
}
