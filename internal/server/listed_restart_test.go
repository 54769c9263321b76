package server

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// twoListed is a facility that lists nodes a1 and a2 in site a.
func twoListed() *model.Facility {
	f := listedFacility()
	f.Nodes = append(f.Nodes, model.Node{Name: "a2", Site: "a", Hall: "a-hall", Rack: "ra", GPUModel: "H100", GPUs: 8, CPUs: 32, MemoryGiB: 256})
	return f
}

// A node the facility file lists keeps, across a restart of the server,
// an operator's drain and fence, as a node that registered dynamically
// does: the stored flags win over the facility's blank ones.
func TestListedNodeKeepsDrainAndFenceAcrossRestart(t *testing.T) {
	e := newEnv(t, twoListed(), false)
	for _, name := range []string{"a1", "a2"} {
		if code := e.register(name, "a", 8); code != 200 {
			t.Fatalf("register %s: %d", name, code)
		}
	}
	var n api.Node
	if code := e.do("POST", "/v1/nodes/a1/drain", nil, &n); code != 200 || !n.Drained {
		t.Fatalf("drain a1: %d %+v", code, n)
	}
	if code := e.do("POST", "/v1/nodes/a2/fence", nil, &n); code != 200 || !n.Fenced {
		t.Fatalf("fence a2: %d %+v", code, n)
	}

	e.s.store.Close()
	e = openEnv(t, e.dir, twoListed(), false, e.clock)
	if code := e.do("GET", "/v1/nodes/a1", nil, &n); code != 200 || !n.Drained {
		t.Errorf("after a restart, a1: %d drained=%v, want drained", code, n.Drained)
	}
	if code := e.do("GET", "/v1/nodes/a2", nil, &n); code != 200 || !n.Fenced {
		t.Errorf("after a restart, a2: %d fenced=%v, want fenced", code, n.Fenced)
	}
	// Their agents register again: a1 still takes nothing new, a2 is
	// still fenced; a job has nowhere to go.
	for _, name := range []string{"a1", "a2"} {
		if code := e.register(name, "a", 8); code != 200 {
			t.Fatalf("register %s again: %d", name, code)
		}
	}
	id := e.submit(spec(1, 1))
	e.pass()
	if j := e.job(id); j.State != api.StatePending {
		t.Errorf("job with a drained and a fenced node: %s on %v, want pending", j.State, j.Replicas)
	}
}
