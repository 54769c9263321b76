package sched_test

import (
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
	"github.com/carnot-dc/carnot/internal/sched"
)

// A job is not placed on a node the snapshot says it avoids
// (model.Snapshot.AvoidNodes: an attempt could not start there), a
// single replica nor a gang; where nothing else fits, its reason counts
// the node excluded. Other jobs still use the node.
func TestAvoidedNodesAreNotUsed(t *testing.T) {
	w := newWorld()
	for _, line := range []string{
		"site par country=FR jur=EU,FR envelope_kw=100",
		"nodes h1 site=par", "nodes h2 site=par", "nodes h3 site=par",
		"tenant acme quota=H100:64",
		"job one tenant=acme gpus=8 limit=1h",
		"job gang tenant=acme gpus=8 replicas=2 limit=1h",
		"job other tenant=acme gpus=8 limit=1h",
	} {
		if err := w.do(strings.Fields(line)); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
	snap := w.snapshot()
	snap.AvoidNodes = map[string][]string{"one": {"h1"}, "gang": {"h1", "h2"}}
	p := sched.Schedule(snap, w.clock)
	if err := plan.Verify(snap, &p); err != nil {
		t.Fatalf("verify: %v", err)
	}
	nodes := map[string][]string{}
	for _, st := range p.Starts {
		for _, pl := range st.Replicas {
			nodes[st.Job] = append(nodes[st.Job], pl.Node)
		}
	}
	if got := nodes["one"]; len(got) != 1 || got[0] == "h1" {
		t.Errorf("one placed on %v; want one node other than h1", got)
	}
	if got := nodes["gang"]; len(got) != 0 {
		t.Errorf("gang placed on %v; want it waiting: only h3 is left to it", got)
	}
	pe := pendingOf(p, "gang")
	if pe == nil || !strings.Contains(pe.Message, "2 nodes excluded by failed-start") {
		t.Errorf("gang: %+v; want a reason counting h1 and h2 excluded by failed-start", pe)
	}
	if got := nodes["other"]; len(got) != 1 {
		t.Errorf("other placed on %v; want it started (h1 is avoided by the others only)", got)
	}
	if t.Failed() {
		var b strings.Builder
		plan.WriteText(&b, snap, &p)
		t.Log(b.String())
	}
	_ = model.ReasonCapacity
}
