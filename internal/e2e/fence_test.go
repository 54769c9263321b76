package e2e

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// An operator fences a node whose agent died under a running job, with
// the real CLI: before the fence the server counts the silent node at
// nameplate (it may still run the replica); the fence counts it as
// stopped. The node stays fenced when its agent comes back (which kills
// what the dead one left) and takes no work: a gang that needs both
// nodes waits until the operator unfences it, then runs.
func TestFenceSilentNodeThroughTheCLI(t *testing.T) {
	f := newFaultCluster(t, 2)
	ctx := context.Background()
	spec := fmt.Sprintf(`{"id":"held","tenant":"default","gpus":2,"restart":"never",`+
		`"command":["sh","-c","echo $$ > %s/held.pid; exec sleep 300"]}`, f.work)
	if _, err := f.cl.SubmitJob(ctx, []byte(spec), ""); err != nil {
		t.Fatal(err)
	}
	f.wait("the job running", 20*time.Second, func() bool { return f.job("held").State == api.StateRunning })
	orphan := f.pid("held.pid")
	node := f.job("held").Replicas[0].Node
	f.agents[node].Process.Signal(syscall.SIGKILL)
	f.agents[node].Wait()
	delete(f.agents, node)
	f.wait(node+" not ready", 20*time.Second, func() bool { return f.condition(node) == api.NodeNotReady })
	f.wait("an event saying "+node+" counts at nameplate", 10*time.Second, func() bool {
		return nodeEvent(t, f, node, "nameplate")
	})
	if !alive(orphan) {
		t.Fatal("the dead agent's task died with it; the test needs it running on")
	}

	out, err := f.cli.carnot("fence", node)
	if err != nil || !strings.Contains(out, node) {
		t.Fatalf("carnot fence %s: %v\n%s", node, err, out)
	}
	if n, err := f.ops.GetNode(ctx, node); err != nil || !n.Fenced {
		t.Fatalf("after carnot fence: %+v, %v", n, err)
	}
	if !nodeEvent(t, f, node, "fenced") {
		t.Error("no event records the fence")
	}
	if list, err := f.cli.carnot("nodes"); err != nil || !strings.Contains(list, ",fenced") {
		t.Errorf("carnot nodes does not show the fence: %v\n%s", err, list)
	}

	f.startAgent(node) // registers again and kills what the dead agent left
	waitGone(t, "the dead agent's task", orphan, 20*time.Second)
	gang := fmt.Sprintf(`{"id":"gang","tenant":"default","replicas":2,"gpus":2,"restart":"never",`+
		`"command":["sh","-c","echo $$ > %s/gang-$CARNOT_REPLICA.pid; exec sleep 300"]}`, f.work)
	if _, err := f.cl.SubmitJob(ctx, []byte(gang), ""); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // passes run at least every few seconds
	if n, _ := f.ops.GetNode(ctx, node); n == nil || !n.Fenced {
		t.Fatalf("the node's agent came back and the fence is gone: %+v", n)
	}
	if j := f.job("gang"); j.State != api.StatePending {
		t.Fatalf("a gang needing the fenced node: %s, want pending", j.State)
	}

	if out, err := f.cli.carnot("unfence", node); err != nil {
		t.Fatalf("carnot unfence %s: %v\n%s", node, err, out)
	}
	f.wait("the gang running once the node is unfenced", 30*time.Second, func() bool {
		return f.job("gang").State == api.StateRunning
	})
	for _, name := range []string{"gang-0.pid", "gang-1.pid"} {
		if pid := f.pid(name); !alive(pid) {
			t.Errorf("%s: the gang's replica is not alive", name)
		}
	}
}

// nodeEvent reports whether some event of node names what.
func nodeEvent(t *testing.T, f *faultCluster, node, what string) bool {
	t.Helper()
	evs, err := f.ops.AllEvents(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs.Events {
		if strings.Contains(e.Message, node) && strings.Contains(e.Message, what) {
			return true
		}
	}
	return false
}
