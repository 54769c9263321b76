package server

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// movedA2 is twoListed with a2 moved to site b.
func movedA2() *model.Facility {
	f := twoListed()
	f.Racks = append(f.Racks, model.Rack{ID: "rb", Hall: "b-hall"})
	f.Nodes[1].Site, f.Nodes[1].Hall, f.Nodes[1].Rack = "b", "b-hall", "rb"
	return f
}

// A node the facility file moves to another site while it ran work may
// still run it where it was: its agent, refused from the start on (its
// certificate names its old site), cannot be told to stop it, and its
// GPUs draw on in its old site. As a removed node, it stays in its old
// site, removed and unreachable, counted there at nameplate and given
// nothing, until an operator fences it (it is off) and forgets it there;
// then it takes its place in its new site, as the file lists it.
func TestMovedNodeWithWorkCountsInItsOldSiteUntilFenced(t *testing.T) {
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

	e = openEnv(t, e.dir, movedA2(), false, e.clock)
	nameplate, down := e.nodePowerW("a1") // a2's twin
	if c, w := e.condition("a2"), e.sitePowerW("a"); c != model.NodeUnreachable || w != down+nameplate {
		t.Fatalf("a2 moved to site b while it ran %s: %q, site a at %v W; want a2 unreachable, site a at %v W (a1 idle, a2 at nameplate)", id, c, w, down+nameplate)
	}
	if w := e.sitePowerW("b"); w != 0 {
		t.Errorf("site b at %v W while a2 may still run work in site a; want 0", w)
	}
	var n api.Node
	if code := e.do("GET", "/v1/nodes/a2", nil, &n); code != 200 || n.Site != "a" || !n.Removed || !n.Unreachable {
		t.Fatalf("a2 moved while it ran work: %d %+v; want it in site a, removed and unreachable", code, n)
	}
	if j := e.job(id); j.State != api.StatePending || j.Replicas[0].State != api.ReplicaLost {
		t.Errorf("job that ran on a2: %s, replica %+v; want its replica lost and the job queued again", j.State, j.Replicas[0])
	}
	evs := nodeEvents(t, e.s.store, "a2")
	if len(evs) == 0 || !strings.Contains(evs[len(evs)-1].Message, "site b") || !strings.Contains(evs[len(evs)-1].Message, "nameplate") {
		t.Fatalf("a2's node events %+v; want the last saying it moved to site b and counts at nameplate in site a", evs)
	}
	for _, site := range []string{"a", "b"} {
		if code := e.register("a2", site, 8); code != 403 {
			t.Errorf("a2's agent registering in site %s while kept in site a: %d; want it refused", site, code)
		}
	}
	e.s.store.Close()
	e = openEnv(t, e.dir, movedA2(), false, e.clock) // a second start keeps it
	if c := e.condition("a2"); c != model.NodeUnreachable {
		t.Fatalf("a2 after a second start: %q; want still unreachable", c)
	}

	// Its agent enrolls in site b meanwhile, as the file says.
	e.s.cfg.CA = testCA(t)
	join, err := e.s.MintToken(context.Background(), api.TokenRequest{Name: "join-b", Role: "join", Site: "b"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	code, out, _ := e.enroll(withBearer(join.Secret), "a2")
	if code != http.StatusOK || !strings.Contains(out, `"site":"b"`) {
		t.Fatalf("enroll a2 with a join token of site b while it is kept in site a: %d %s; want 200 in site b", code, out)
	}

	if code := e.do("POST", "/v1/nodes/a2/fence", nil, nil); code != 200 {
		t.Fatalf("fence a2: %d", code)
	}
	if code := e.do("DELETE", "/v1/nodes/a2", nil, nil); code != 204 {
		t.Fatalf("forget a2 in site a: %d", code)
	}
	if w := e.sitePowerW("a"); w != down {
		t.Errorf("site a at %v W once a2 is fenced and forgotten there; want %v W (a1 idle)", w, down)
	}
	n = api.Node{}
	if code := e.do("GET", "/v1/nodes/a2", nil, &n); code != 200 || n.Site != "b" || n.Removed || n.Unreachable {
		t.Fatalf("a2 once forgotten in site a: %d %+v; want it in site b, as the file lists it", code, n)
	}
	if code := e.register("a2", "b", 8); code != 200 {
		t.Fatalf("a2's agent registering in site b: %d", code)
	}
	if c := e.condition("a2"); c != model.NodeUp {
		t.Errorf("a2 registered in site b: %q; want up", c)
	}
	e.s.store.Close()
	e = openEnv(t, e.dir, movedA2(), false, e.clock)
	n = api.Node{}
	if code := e.do("GET", "/v1/nodes/a2", nil, &n); code != 200 || n.Site != "b" || n.Removed {
		t.Errorf("a2 after a start: %d %+v; want it in site b", code, n)
	}
}
