package e2e

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// An agent stopped with SIGTERM (a node's maintenance) reports its task
// lost and says it is leaving: its node takes no new work at once
// (draining), and the job's next attempt runs on the other node,
// spending one retry. Before,
// the next attempt could go back to the leaving node, to be lost again at
// the heartbeat timeout.
func TestStoppedAgentsJobRunsElsewhere(t *testing.T) {
	f := newFaultCluster(t, 2)
	spec := fmt.Sprintf(`{"id":"maint","tenant":"default","gpus":2,"restart":"on-failure","max_retries":2,"command":["sh","-c",%q]}`,
		`trap 'exit 0' TERM; while :; do sleep 0.1; done`)
	if _, err := f.cl.SubmitJob(context.Background(), []byte(spec), ""); err != nil {
		t.Fatal(err)
	}
	var first string
	f.wait("maint running", 20*time.Second, func() bool {
		j := f.job("maint")
		if j.State != api.StateRunning || len(j.Replicas) == 0 || j.Replicas[0].State != api.ReplicaRunning {
			return false
		}
		first = j.Replicas[0].Node
		return true
	})
	a := f.agents[first]
	if err := a.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := a.Wait(); err != nil {
		t.Fatalf("agent %s after SIGTERM: %v", first, err)
	}
	delete(f.agents, first)
	if c := f.condition(first); c != api.NodeDraining && c != api.NodeNotReady {
		t.Errorf("%s once its agent stopped: %s, want draining (not-ready past the heartbeat timeout)", first, c)
	}
	var j *api.Job
	f.wait("maint's next attempt running", 20*time.Second, func() bool {
		j = f.job("maint")
		return j.Attempt >= 2 && j.State == api.StateRunning && len(j.Replicas) > 0 && j.Replicas[0].State == api.ReplicaRunning
	})
	if j.Attempt != 2 || j.Replicas[0].Node == first {
		t.Errorf("maint: attempt %d on %s; want attempt 2 on the other node than %s", j.Attempt, j.Replicas[0].Node, first)
	}
}
