package agent

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// Under the server's stop-after-disconnect, an agent that no heartbeat
// answer reaches for that long stops its tasks, with their grace, and
// says why once the server answers again; a shorter outage stops
// nothing, and without the setting tasks run through any outage.
func TestDisconnectedAgentStopsItsTasks(t *testing.T) {
	for _, tc := range []struct {
		name      string
		stopAfter float64
	}{{"stop after 0.6 s", 0.6}, {"off", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeServer()
			srv.stopAfter = tc.stopAfter
			startAgent(t, srv)
			dir := t.TempDir()
			ready, termed := filepath.Join(dir, "ready"), filepath.Join(dir, "termed")
			srv.assign(sh("j1", 0, `trap 'echo $$ > "$TERMED"; exit 143' TERM; echo $$ > "$READY"; while :; do sleep 0.05; done`,
				map[string]string{"READY": ready, "TERMED": termed}))
			pid := readPID(t, ready)

			// An outage shorter than the setting stops nothing.
			srv.set(func(s *fakeServer) { s.down = true })
			time.Sleep(250 * time.Millisecond)
			srv.set(func(s *fakeServer) { s.down = false })
			time.Sleep(700 * time.Millisecond) // past 0.6 s from the outage's start
			if gone(pid) {
				t.Fatal("a 0.25 s outage stopped the task")
			}

			srv.set(func(s *fakeServer) { s.down = true })
			down := time.Now()
			if tc.stopAfter == 0 {
				time.Sleep(1500 * time.Millisecond)
				if gone(pid) {
					t.Fatal("without stop-after-disconnect, an outage stopped the task")
				}
				return
			}
			eventually(t, 5*time.Second, func() bool { return gone(pid) }, "the task to stop in an outage longer than 0.6 s")
			// From the last answered heartbeat, at most one interval
			// (0.05 s) before the outage began.
			if d := time.Since(down); d < 500*time.Millisecond {
				t.Fatalf("the task was stopped %s into the outage, before the 0.6 s", d)
			}
			if pid2 := readPID(t, termed); pid2 != pid {
				t.Fatalf("SIGTERM reached %d, want the task %d (its grace)", pid2, pid)
			}
			srv.set(func(s *fakeServer) { s.down = false })
			st := srv.waitStatus(t, "j1", 0, 1, ended)
			if st.State != api.ReplicaExited || !strings.Contains(st.Error, "stop-after-disconnect") {
				t.Fatalf("the stopped task reports %+v, want exited with why", st)
			}
		})
	}
}
