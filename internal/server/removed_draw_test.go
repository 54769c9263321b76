package server

import (
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// A node removed from the facility file while it ran work may still run
// it: its agent, refused from the start on, cannot be told to stop it,
// and its GPUs draw on. It stays in its site, unreachable, counted at
// nameplate and given nothing, until an operator fences it (it is off)
// and forgets it; the next start has nothing more to say of it.
func TestRemovedNodeWithWorkCountsUntilFenced(t *testing.T) {
	e := newEnv(t, twoListed(), false)
	for _, name := range []string{"a1", "a2"} {
		if code := e.register(name, "a", 8); code != 200 {
			t.Fatalf("register %s: %d", name, code)
		}
	}
	if code := e.do("POST", "/v1/nodes/a1/drain", nil, nil); code != 200 {
		t.Fatalf("drain a1: %d", code)
	}
	id := e.submit(spec(8, 1, "restart", "on-failure", "max_retries", 1))
	e.pass()
	e.report("a2", running(id, 0, 1))
	e.s.store.Close()

	e = openEnv(t, e.dir, listedFacility(), false, e.clock)
	nameplate, down := e.nodePowerW("a1") // a2's twin
	if c, w := e.condition("a2"), e.sitePowerW("a"); c != model.NodeUnreachable || w != down+nameplate {
		t.Fatalf("a2 removed while it ran %s: %q, site a at %v W; want a2 unreachable, the site at %v W (a1 idle, a2 at nameplate)", id, c, w, down+nameplate)
	}
	if j := e.job(id); j.State != api.StatePending || j.Replicas[0].State != api.ReplicaLost {
		t.Errorf("job that ran on a2: %s, replica %+v; want its replica lost and the job queued again", j.State, j.Replicas[0])
	}
	evs := nodeEvents(t, e.s.store, "a2")
	if len(evs) == 0 || !strings.Contains(evs[len(evs)-1].Message, "nameplate") || evs[len(evs)-1].Actor != actorConfig {
		t.Fatalf("a2's node events %+v; want the last saying its power counts at nameplate, by %s", evs, actorConfig)
	}
	if code := e.register("a2", "a", 8); code != 403 {
		t.Errorf("a2's agent registering: %d; want it refused", code)
	}
	e.s.store.Close()
	e = openEnv(t, e.dir, listedFacility(), false, e.clock) // a second start keeps it
	if c := e.condition("a2"); c != model.NodeUnreachable {
		t.Fatalf("a2 after a second start: %q; want still unreachable", c)
	}

	if code := e.do("POST", "/v1/nodes/a2/fence", nil, nil); code != 200 {
		t.Fatalf("fence a2: %d", code)
	}
	if code := e.do("DELETE", "/v1/nodes/a2", nil, nil); code != 204 {
		t.Fatalf("forget a2: %d", code)
	}
	if w := e.sitePowerW("a"); w != down {
		t.Errorf("site a at %v W once a2 is fenced and forgotten; want %v W (a1 idle)", w, down)
	}
	e.s.store.Close()
	e = openEnv(t, e.dir, listedFacility(), false, e.clock)
	if got := storedNodes(t, e.s.store); len(got) != 1 || got[0] != "a1" {
		t.Errorf("stored nodes once a2 is forgotten: %v; want [a1]", got)
	}
}

// A removed node kept for what it may run, put back in the facility
// file, is a node of the file again: still unreachable (at nameplate)
// until its agent reports, which it may again.
func TestRemovedNodeListedAgain(t *testing.T) {
	e := newEnv(t, twoListed(), false)
	for _, name := range []string{"a1", "a2"} {
		if code := e.register(name, "a", 8); code != 200 {
			t.Fatalf("register %s: %d", name, code)
		}
	}
	if code := e.do("POST", "/v1/nodes/a1/drain", nil, nil); code != 200 {
		t.Fatalf("drain a1: %d", code)
	}
	id := e.submit(spec(8, 1))
	e.pass()
	e.report("a2", running(id, 0, 1))
	e.s.store.Close()
	e = openEnv(t, e.dir, listedFacility(), false, e.clock)
	if c := e.condition("a2"); c != model.NodeUnreachable {
		t.Fatalf("a2 removed while it ran %s: %q; want unreachable", id, c)
	}
	e.s.store.Close()
	e = openEnv(t, e.dir, twoListed(), false, e.clock)
	var n api.Node
	if code := e.do("GET", "/v1/nodes/a2", nil, &n); code != 200 || n.Removed || !n.Unreachable {
		t.Fatalf("a2 listed again: %d %+v; want it not removed, still unreachable", code, n)
	}
	if code := e.register("a2", "a", 8); code != 200 {
		t.Fatalf("a2's agent registering once listed again: %d", code)
	}
	if c := e.condition("a2"); c != model.NodeUp {
		t.Errorf("a2 once its agent registered running nothing: %q; want up", c)
	}
}
