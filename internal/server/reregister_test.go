package server

import (
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// A node whose agent registers again with fewer GPUs (one fell off the
// bus, a board was pulled) no longer runs the replicas placed on the GPUs
// it lost: they are lost, their jobs handled as for any lost replica, and
// the node never counts more GPUs in use than it has. Replicas on the
// GPUs it kept run on.
func TestReregisterWithFewerGPUsLosesReplicasOnGoneGPUs(t *testing.T) {
	e := devEnv(t)
	low := e.submit(spec(4, 1))
	e.pass()
	high := e.submit(spec(4, 1))
	e.pass()
	on := map[string][]int{low: e.job(low).Replicas[0].GPUs, high: e.job(high).Replicas[0].GPUs}
	if on[low][0] >= 4 {
		low, high = high, low
	}
	e.report("n1", running(low, 0, 1), running(high, 0, 1))

	if code := e.register("n1", "local", 4, running(low, 0, 1), running(high, 0, 1)); code != 200 {
		t.Fatalf("register with 4 GPUs: %d", code)
	}
	if j := e.job(low); j.Replicas[0].State != api.ReplicaRunning {
		t.Errorf("job on GPUs %v, which n1 still has: replica %s, want running", j.Replicas[0].GPUs, j.Replicas[0].State)
	}
	j := e.job(high)
	if r := j.Replicas[0]; r.State != api.ReplicaLost || !strings.Contains(r.Error, "no longer") {
		t.Errorf("job on GPUs %v, which n1 lost: replica %s (%q), want lost saying its GPUs are no longer there", r.GPUs, r.State, r.Error)
	}
	var n api.Node
	if code := e.do("GET", "/v1/nodes/n1", nil, &n); code != 200 || n.GPUs != 4 || n.GPUsUsed != 4 {
		t.Errorf("n1: %d, %d/%d GPUs in use, want 4/4", code, n.GPUsUsed, n.GPUs)
	}
	if evs := e.nodeEvents("n1", "8×H100 before"); len(evs) != 1 {
		t.Errorf("registration events %+v, want one saying n1 had 8×H100 before", evs)
	}
}
