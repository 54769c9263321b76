package agent

import (
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A task whose main process ended on its own before the agent began to
// stop it keeps its own end: the stop did not end it. The agent still
// reads its output meanwhile (a process that left it holds its stdout),
// and a shutdown or a runtime limit that comes then must not turn an
// exit 0 into a task lost or stopped at its limit.
func TestEndBeforeTheStopKeepsItsExit(t *testing.T) {
	// The main process exits 0 and leaves a process out of its group and
	// without its mark (so the agent does not kill it) holding its
	// output for a while; it waits until that process runs sleep (env -i
	// dropped the mark): its environment, read as it execs, is empty, so
	// the mark's absence alone says too early that it dropped it.
	const script = `setsid env -i sleep 60 &
esc=$!
echo $esc > "$ESC"
until [ "$(cat /proc/$esc/comm)" = sleep ]; do sleep 0.01; done
echo $$ > "$READY"
exit 0`
	for _, tc := range []struct {
		name string
		stop func(t *testing.T, srv *fakeServer, task api.Task, shutdown func())
	}{
		{"shutdown", func(t *testing.T, _ *fakeServer, _ api.Task, shutdown func()) { shutdown() }},
		{"runtime limit", func(t *testing.T, srv *fakeServer, task api.Task, _ func()) {
			past := time.Now().Add(-time.Second)
			task.Deadline = &past
			srv.assign(task)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeServer()
			// the escaped process holds the output open: without cgroups,
			// which kill it with the main process
			cancel, done := runGPUAgent(t, srv, Config{Name: "n1", Heartbeat: 50 * time.Millisecond, Cgroups: CgroupsOff})
			stopped := false
			shutdown := func() {
				if !stopped {
					stopped = true
					cancel()
					if err := <-done; err != nil {
						t.Errorf("Run: %v", err)
					}
				}
			}
			t.Cleanup(shutdown)
			dir := t.TempDir()
			esc, ready := filepath.Join(dir, "escaped"), filepath.Join(dir, "ready")
			task := sh("j-done", 0, script, map[string]string{"ESC": esc, "READY": ready})
			srv.assign(task)
			pid := readPID(t, ready)
			t.Cleanup(func() { _ = killPID(readPID(t, esc)) })
			eventually(t, 2*time.Second, func() bool { return gone(pid) }, "the task's main process %d to end and be reaped", pid)
			if st, ok := srv.last("j-done", 0, 1); ok && ended(st) {
				t.Fatalf("the agent reported the end (%+v) before the stop: the test needs it still reading the output", st)
			}
			tc.stop(t, srv, task, shutdown)
			st := srv.waitStatus(t, "j-done", 0, 1, ended)
			if st.State != api.ReplicaExited || deref(st.ExitCode) != 0 || st.Signal != "" {
				t.Errorf("status %+v, want exited 0 with no signal: the main process ended by itself before the stop", st)
			}
		})
	}
}

// A task's deadline is a time of the wall clock: when the clock is
// stepped forward past it while the task runs (NTP correcting a clock
// that was behind), the task is stopped at its runtime limit then, not
// once the time the deadline was away when it was set has elapsed.
func TestDeadlineFollowsAClockStep(t *testing.T) {
	srv := newFakeServer()
	a := startAgent(t, srv)
	var step atomic.Int64 // added to the wall clock
	a.mu.Lock()
	a.now = func() time.Time { return time.Now().Add(time.Duration(step.Load())) }
	a.deadlineCheck = 50 * time.Millisecond
	a.mu.Unlock()
	task := sh("j-step", 0, `exec sleep 30`, nil)
	deadline := time.Now().Add(time.Hour)
	task.Deadline = &deadline
	srv.assign(task)
	srv.waitStatus(t, "j-step", 0, 1, running)
	step.Store(int64(time.Hour + time.Minute))
	st := srv.waitStatus(t, "j-step", 0, 1, ended)
	if st.Signal != signalRuntimeLimit {
		t.Errorf("status %+v, want stopped at its runtime limit once the clock passed its deadline", st)
	}
}
