package agent

import (
	"log/slog"
	"syscall"
	"testing"
	"time"
)

// A task's process that ends at once is not reaped, while its start is
// being recorded, by the clearing of another task's group that had a
// member of the same PID (killed, reaped by init, its PID taken since
// by the new task): its end is its exit code. Before, the clearing's
// reap could take it between its start and its record, and the new
// task ended with "wait: … no child processes" instead.
func TestClearingAGroupSparesATaskStarting(t *testing.T) {
	r := newProcesses(t.TempDir(), 0, slog.New(slog.DiscardHandler))
	xp, err := r.Start(sh("j-x", 0, `exec sleep 30`, nil))
	if err != nil {
		t.Fatal(err)
	}
	x := xp.(*process)
	t.Cleanup(func() { _ = x.Signal(syscall.SIGKILL); x.Wait() })
	reaped := make(chan struct{})
	r.afterExec = func(pid int) {
		r.afterExec = nil
		// The new task's process has ended; x's clearing takes its PID
		// for a member it killed.
		eventually(t, 3*time.Second, func() bool {
			f, err := procStat(pid)
			return err == nil && f[0] == "Z"
		}, "the task's process %d to end", pid)
		go func() {
			x.reap(map[int]bool{pid: true})
			close(reaped)
		}()
		select {
		case <-reaped:
		case <-time.After(200 * time.Millisecond):
		}
	}
	yp, err := r.Start(sh("j-y", 0, `exit 7`, nil))
	if err != nil {
		t.Fatal(err)
	}
	if x := yp.Wait(); x.Err != nil || x.Code != 7 {
		t.Errorf("the task ended with %+v, want its exit code 7", x)
	}
	<-reaped
}
