package agent

import (
	"testing"
	"time"
)

// The agent's memory of the tasks it ever started (never to start one
// twice) forgets those of jobs the server says are finished: it would
// otherwise grow with every task the node ever ran, for as long as the
// agent runs. A job the server still lists unfinished keeps them: its
// attempts on the node must not run again.
func TestStartedSetForgetsFinishedJobs(t *testing.T) {
	srv := newFakeServer()
	a := startAgent(t, srv)
	jobs := []string{"j-a", "j-b", "j-c"}
	for _, j := range jobs {
		srv.assignUnfinished(jobs, sh(j, 0, "exit 0", nil))
		srv.waitStatus(t, j, 0, 1, ended)
	}
	srv.assignUnfinished([]string{"j-c"}) // j-a and j-b finished
	eventually(t, 5*time.Second, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return len(a.started) == 1 && a.started[taskKey{Job: "j-c", Replica: 0, Attempt: 1}]
	}, "the started set to hold j-c's task alone")
	srv.assignUnfinished([]string{"j-c"}, sh("j-c", 0, "exit 0", nil)) // listed again: not run twice
	n := len(srv.heartbeats())
	eventually(t, 5*time.Second, func() bool { return len(srv.heartbeats()) > n+2 }, "heartbeats after j-c is listed again")
	a.mu.Lock()
	_, ran := a.tasks[taskKey{Job: "j-c", Replica: 0, Attempt: 1}]
	a.mu.Unlock()
	if ran {
		t.Error("j-c's task, listed again, was taken up again; want it never started twice")
	}
}
