package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// An agent dies (SIGKILL) right after it started a replica of a gang,
// before it could report the start: the replica's process kills its
// agent as its first act (once). The next agent on that node kills the
// process and reports the replica lost; the server ends the attempt
// whole, the other replica is stopped, and the gang's second attempt
// runs. The replica never starts twice in one attempt: its peer, which
// may have met the first process, would not know of a second.
func TestAgentDeadBeforeReportingAStartEndsTheAttempt(t *testing.T) {
	f := newFaultCluster(t, 2)
	// Builtins only, no command to start: the agent is killed before its
	// first heartbeat, sent a few milliseconds after a start. set -C
	// creates the marker once; `command` keeps a failed redirection
	// from ending the shell.
	script := fmt.Sprintf(`set -C
echo $$ >> %[1]s/gang-$CARNOT_REPLICA-$CARNOT_ATTEMPT.starts
if [ "$CARNOT_REPLICA" = 1 ] && { command : > %[1]s/crashed; } 2>/dev/null; then kill -KILL $PPID; fi
exec sleep 300`, f.work)
	spec, _ := json.Marshal(map[string]any{"id": "gang", "tenant": "default", "replicas": 2, "gpus": 2,
		"restart": "on-failure", "max_retries": 2, "command": []string{"sh", "-c", script}})
	if _, err := f.cl.SubmitJob(context.Background(), spec, ""); err != nil {
		t.Fatal(err)
	}
	starts := func(replica, attempt int) []string {
		b, _ := os.ReadFile(filepath.Join(f.work, fmt.Sprintf("gang-%d-%d.starts", replica, attempt)))
		return strings.Fields(string(b))
	}
	f.wait("replica 1 started", 20*time.Second, func() bool { return len(starts(1, 1)) > 0 })
	first := f.pid("gang-1-1.starts")
	t.Cleanup(func() { syscall.Kill(first, syscall.SIGKILL) })
	node := f.job("gang").Replicas[1].Node
	dead := make(chan error, 1)
	go func() { dead <- f.agents[node].Wait() }()
	select {
	case <-dead:
	case <-time.After(10 * time.Second):
		t.Fatalf("the agent of %s still runs; its task should have killed it", node)
	}
	if r := f.job("gang").Replicas[1]; r.State != api.ReplicaAssigned {
		t.Logf("the dead agent reported the start before it died (replica 1 %s): the case of a reported start", r.State)
	}
	f.startAgent(node)
	f.wait("the gang's second attempt running, or replica 1 started again", 30*time.Second, func() bool {
		g := f.job("gang")
		return g.State == api.StateRunning && g.Attempt == 2 || len(starts(1, 1)) > 1
	})
	if got := starts(1, 1); len(got) != 1 {
		t.Fatalf("replica 1 was started %d times in attempt 1 (PIDs %v), want once", len(got), got)
	}
	waitGone(t, "the dead agent's replica", first, 15*time.Second)
	f.wait("the gang's second attempt running", 30*time.Second, func() bool {
		g := f.job("gang")
		return g.State == api.StateRunning && g.Attempt == 2
	})
	if p := f.pid("gang-0-1.starts"); alive(p) && !zombie(p) {
		t.Errorf("the first attempt's replica 0 (pid %d) still runs", p)
	}
	evs, err := f.cl.Events(context.Background(), "gang", 0)
	if err != nil {
		t.Fatal(err)
	}
	lost := false
	for _, e := range evs.Events {
		lost = lost || strings.Contains(e.Message, "replica 1 on "+node+" lost: the node's agent died")
	}
	if !lost {
		t.Errorf("no event says replica 1 was lost with its agent: %+v", evs.Events)
	}
	if n := startedEvents(t, f.cl, "gang"); n != 2 {
		t.Errorf("the gang was started %d times, want twice (one per attempt)", n)
	}
}
