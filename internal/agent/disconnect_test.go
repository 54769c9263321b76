package agent

import (
	"context"
	"os"
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
	// The setting counts from the registration until a heartbeat is
	// answered: a loaded machine took 0.75 s to start the task, no
	// heartbeat sent meanwhile, and a setting of 0.6 s stopped it
	// before it ran.
	const setting = 2 * time.Second
	for _, tc := range []struct {
		name      string
		stopAfter time.Duration
	}{{"stop after 2 s", setting}, {"off", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeServer()
			srv.stopAfter = tc.stopAfter.Seconds()
			startAgent(t, srv)
			dir := t.TempDir()
			ready, termed := filepath.Join(dir, "ready"), filepath.Join(dir, "termed")
			srv.assign(sh("j1", 0, `trap 'echo $$ > "$TERMED"; exit 143' TERM; echo $$ > "$READY"; while :; do sleep 0.05; done`,
				map[string]string{"READY": ready, "TERMED": termed}))
			pid := readPID(t, ready)
			// A heartbeat answered since the task started: the count
			// starts there, not at the registration.
			srv.waitStatus(t, "j1", 0, 1, running)

			// An outage shorter than the setting stops nothing: it ends
			// once a heartbeat failed, not after a sleep of the test's
			// that a loaded machine stretches towards the setting.
			var failed int
			srv.set(func(s *fakeServer) { s.down, failed = true, s.downBeats })
			eventually(t, 2*time.Second, func() bool {
				srv.mu.Lock()
				defer srv.mu.Unlock()
				if srv.downBeats > failed {
					srv.down = false
				}
				return !srv.down
			}, "a heartbeat to fail")
			time.Sleep(setting + 100*time.Millisecond) // past the setting from the outage's start
			if gone(pid) {
				t.Fatal("an outage of a failed heartbeat stopped the task")
			}

			srv.set(func(s *fakeServer) { s.down = true })
			if tc.stopAfter == 0 {
				time.Sleep(setting + 500*time.Millisecond)
				if gone(pid) {
					t.Fatal("without stop-after-disconnect, an outage stopped the task")
				}
				return
			}
			eventually(t, setting+5*time.Second, func() bool { return gone(pid) }, "the task to stop in an outage longer than the setting")
			// The setting from when the agent sent the last heartbeat
			// answered, a moment before the server heard it: not from
			// the outage's start, which comes one interval (0.05 s)
			// later, or more when a loaded machine delays the
			// heartbeats.
			srv.mu.Lock()
			heard := srv.heard
			srv.mu.Unlock()
			if d := time.Since(heard); d < setting-100*time.Millisecond {
				t.Fatalf("the task was stopped %s after the server heard the last heartbeat, before the %s", d, setting)
			}
			if pid2 := readPID(t, termed); pid2 != pid {
				t.Fatalf("SIGTERM reached %d, want the task %d (its grace)", pid2, pid)
			}
			srv.set(func(s *fakeServer) { s.down = false })
			st := srv.waitStatus(t, "j1", 0, 1, ended)
			if st.State != api.ReplicaLost || !strings.Contains(st.Error, "stop-after-disconnect") {
				t.Fatalf("the stopped task reports %+v, want lost with why", st)
			}
		})
	}
}

// slowAnswers answers each heartbeat late: the server records it when the
// request arrives (heard; its commit, the answer's way back take the rest).
type slowAnswers struct {
	*fakeServer
	delay time.Duration
}

func (s *slowAnswers) Heartbeat(ctx context.Context, node string, hb api.Heartbeat) (api.HeartbeatReply, error) {
	reply, err := s.fakeServer.Heartbeat(ctx, node, hb)
	time.Sleep(s.delay)
	return reply, err
}

// The server counts a silent node's replicas lost from the time it
// recorded the node's last heartbeat, so the agent counts its
// stop-after-disconnect from when it sent the heartbeat, not from the
// answer: an answer that takes long (a slow commit, a congested network)
// does not push the agent's stop past the server's count. Counting from
// the answer, the task here was stopped a full answer's delay late.
func TestDisconnectCountsFromTheHeartbeatSent(t *testing.T) {
	srv := &slowAnswers{fakeServer: newFakeServer(), delay: time.Second}
	srv.stopAfter = 2
	startAgent(t, srv)
	dir := t.TempDir()
	ready, termed := filepath.Join(dir, "ready"), filepath.Join(dir, "termed")
	srv.assign(sh("j1", 0, `trap 'echo $$ > "$TERMED"; exit 143' TERM; echo $$ > "$READY"; while :; do sleep 0.05; done`,
		map[string]string{"READY": ready, "TERMED": termed}))
	readPID(t, ready)
	time.Sleep(1500 * time.Millisecond) // answers take 1 s: the task runs on
	if _, err := os.Stat(termed); err == nil {
		t.Fatal("the task was stopped while every heartbeat was answered")
	}
	srv.set(func(s *fakeServer) { s.down = true })
	readPID(t, termed)
	stopped := time.Now()
	srv.mu.Lock()
	heard := srv.heard
	srv.mu.Unlock()
	// 2 s after the heartbeat the server heard last, and some slack
	// (counting from its answer is 3 s)
	if late := stopped.Sub(heard); late > 2500*time.Millisecond {
		t.Fatalf("the task was stopped %s after the server last heard from the agent, past the 2 s stop-after-disconnect", late)
	}
}

// Once it has stopped its tasks for the stop-after-disconnect, an agent
// starts none until a heartbeat is answered again, even one its
// assignments still list (they reach it while its heartbeats do not): the
// server may already count it lost and start its next attempt elsewhere.
// It starts once the server has heard from it, from assignments as
// current as the heartbeat's answer.
func TestDisconnectedAgentStartsNothing(t *testing.T) {
	srv := newFakeServer()
	srv.stopAfter = 0.6
	startAgent(t, srv)
	srv.set(func(s *fakeServer) { s.down = true })
	time.Sleep(time.Second) // past the 0.6 s
	ready := filepath.Join(t.TempDir(), "ready")
	srv.assign(sh("j1", 0, `echo $$ > "$READY"; while :; do sleep 0.05; done`, map[string]string{"READY": ready}))
	time.Sleep(700 * time.Millisecond)
	if _, err := os.Stat(ready); err == nil {
		t.Fatal("the agent started a task while no heartbeat had been answered for the stop-after-disconnect")
	}
	srv.set(func(s *fakeServer) { s.down = false })
	readPID(t, ready)
	srv.waitStatus(t, "j1", 0, 1, running)
}

// The agent takes the stop-after-disconnect from every heartbeat's
// answer, not only from its registration: a server restarted with the
// setting changed (or a new leader configured otherwise) is not
// registered with again, and an agent that kept the old value would run
// its tasks past the time the server counts them lost.
func TestDisconnectSettingFollowsTheServer(t *testing.T) {
	srv := newFakeServer() // registers with the setting off
	startAgent(t, srv)
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	srv.assign(sh("j1", 0, `echo $$ > "$READY"; while :; do sleep 0.05; done`, map[string]string{"READY": ready}))
	pid := readPID(t, ready)
	on := 0.6
	srv.set(func(s *fakeServer) { s.hbStopAfter = &on }) // the server restarted with it on
	n := len(srv.heartbeats())
	eventually(t, 2*time.Second, func() bool { return len(srv.heartbeats()) > n+2 }, "heartbeats answered with the setting")
	srv.set(func(s *fakeServer) { s.down = true })
	eventually(t, 5*time.Second, func() bool { return gone(pid) }, "the task to stop 0.6 s into the outage")
}

// A task stopped for the disconnect did not finish, however it exits: one
// that saves a checkpoint on SIGTERM and exits 0 is reported lost, as for
// the agent's shutdown, not exited 0 (which a server that has not yet
// counted it lost took for a success).
func TestDisconnectStopIsLostEvenOnExit0(t *testing.T) {
	srv := newFakeServer()
	srv.stopAfter = 0.3
	startAgent(t, srv)
	ready := filepath.Join(t.TempDir(), "ready")
	srv.assign(sh("j-ckpt", 0, `trap 'exit 0' TERM; echo $$ > "$READY"; while :; do sleep 0.05; done`,
		map[string]string{"READY": ready}))
	pid := readPID(t, ready)
	srv.waitStatus(t, "j-ckpt", 0, 1, running)
	srv.set(func(s *fakeServer) { s.down = true })
	eventually(t, 5*time.Second, func() bool { return gone(pid) }, "the task to stop")
	srv.set(func(s *fakeServer) { s.down = false })
	st := srv.waitStatus(t, "j-ckpt", 0, 1, ended)
	if st.State != api.ReplicaLost || !strings.Contains(st.Error, "stop-after-disconnect") {
		t.Errorf("reported %s exit %v error %q; want lost, saying why", st.State, deref(st.ExitCode), st.Error)
	}
}
