package server

import (
	"net/http"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// An exclusive-node deployment's replicas share the node it holds, on
// the live server as in the core: the scale-up after a replica ends, and
// the replacement, go to n1 beside the others, not to the empty n2; a
// job of another kind stays off n1.
func TestExclusiveDeploymentSharesItsNode(t *testing.T) {
	e := devEnv(t)
	if code := e.register("n2", "local", 8); code != 200 {
		t.Fatal(code)
	}
	var d api.Job
	if code := e.do("POST", "/v1/deployments", spec(2, 3, "exclusive_node", true), &d); code != http.StatusCreated {
		t.Fatalf("submit deployment: %d", code)
	}
	e.pass()
	rs := e.job(d.ID).Replicas
	if len(rs) != 3 {
		t.Fatalf("replicas %+v; want 3", rs)
	}
	for _, r := range rs {
		if r.Node != rs[0].Node {
			t.Fatalf("replicas %+v; want all three on one node", rs)
		}
	}
	node := rs[0].Node
	e.report(node, running(d.ID, 0, 1), running(d.ID, 1, 1), running(d.ID, 2, 1))
	other := e.submit(spec(2, 1))
	e.pass()
	if j := e.job(other); len(j.Replicas) != 1 || j.Replicas[0].Node == node {
		t.Fatalf("the other job's replicas %+v; want one, off the deployment's %s", j.Replicas, node)
	}
	e.report(node, running(d.ID, 0, 1), running(d.ID, 1, 1), exited(d.ID, 2, 1, 0))
	e.pass()
	rs = e.job(d.ID).Replicas
	if len(rs) != 4 || rs[3].Node != node || rs[3].State != api.ReplicaAssigned {
		t.Fatalf("replicas %+v after replica 2 ended; want its replacement on %s", rs, node)
	}
}
