package place

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/carnot-dc/carnot/internal/model"
)

// hideSnapshot is two sites of two idle H100 nodes each; node n00 of
// site s0 is down.
func hideSnapshot() *model.Snapshot {
	f := &model.Facility{GPUModels: map[string]model.GPUModel{"H100": {TDPWatts: 700, IdleWatts: 70}}, Policy: model.DefaultPolicy()}
	f.Policy.Power = false
	f.Tenants = []model.Tenant{{Name: "t0"}}
	snap := &model.Snapshot{Facility: f}
	for s := range 2 {
		f.Sites = append(f.Sites, model.Site{ID: fmt.Sprintf("s%d", s)})
		for k := range 2 {
			name := fmt.Sprintf("n%d%d", s, k)
			f.Nodes = append(f.Nodes, model.Node{Name: name, Site: fmt.Sprintf("s%d", s), Hall: fmt.Sprintf("s%d/h", s),
				Rack: fmt.Sprintf("s%d/h/r", s), Leaf: fmt.Sprintf("s%d/h/r/l", s), NVLinkDomain: fmt.Sprintf("s%d/h/r/nvl%d", s, k),
				GPUModel: "H100", GPUs: 8, CPUs: 64, MemoryGiB: 512})
			cond := model.NodeUp
			if name == "n00" {
				cond = model.NodeDown
			}
			snap.Nodes = append(snap.Nodes, model.NodeState{Node: name, Condition: cond, GPUs: make([]model.GPUState, 8)})
		}
	}
	return snap
}

// checkPoolDown: every pool's Down is how many of its nodes are not up.
func checkPoolDown(t *testing.T, what string, c *Cluster) {
	t.Helper()
	for p := range c.Pools {
		down := 0
		for _, n := range c.Pools[p].Nodes {
			if !c.Nodes[n].Up {
				down++
			}
		}
		if down != c.Pools[p].Down {
			t.Fatalf("%s: pool %d Down = %d, %d of its nodes are not up", what, p, c.Pools[p].Down, down)
		}
	}
}

// TestHideCountsPoolDown: a node Hide takes out counts among its pool's
// down nodes until Rollback, so that what reads the pool's count in the
// what-if (diagnose, for a pool the request's sites leave out) says
// what a walk over the nodes would; nested logs and a node hidden twice
// are undone exactly.
func TestHideCountsPoolDown(t *testing.T) {
	c := New(hideSnapshot(), nil)
	checkPoolDown(t, "new", c)
	before := c.Clone()
	// only site s1: s0's pool is rejected whole, by its count of down nodes
	r := &Request{Tenant: "t0", Model: c.ModelIndex["H100"], Replicas: 3, GPUs: 8, Level: NumLevels, Sites: []bool{false, true}}
	check := func(what string, nodeState, sovereignty int) {
		t.Helper()
		checkPoolDown(t, what, c)
		got, want := c.diagnose(r), review2SlowDiagnose(c, r)
		got.block, got.blockKnown = 0, false
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: diagnose %+v, the slow way %+v", what, got, want)
		}
		if g := got.Rejected.Of(FilterNodeState); g != nodeState {
			t.Fatalf("%s: %d nodes rejected as down, want %d", what, g, nodeState)
		}
		if g := got.Rejected.Of(FilterSovereignty); g != sovereignty {
			t.Fatalf("%s: %d nodes rejected by sovereignty, want %d", what, g, sovereignty)
		}
	}
	check("before", 1, 1)
	c.Begin()
	c.Hide(c.NodeIndex["n01"])
	check("n01 hidden", 2, 0)
	c.Hide(c.NodeIndex["n01"]) // hidden already: no change
	c.Hide(c.NodeIndex["n00"]) // down already: no change
	check("hidden again", 2, 0)
	c.Begin()
	c.Hide(c.NodeIndex["n10"])
	check("n10 hidden too", 3, 0)
	c.Rollback()
	check("inner rollback", 2, 0)
	c.Begin()
	c.Hide(c.NodeIndex["n11"])
	c.Commit()
	check("n11 hidden, committed to the outer log", 3, 0)
	c.Rollback()
	check("after", 1, 1)
	opts := append([]cmp.Option{cmpopts.IgnoreFields(Cluster{}, "sums")}, clusterCmp...) // working memory
	if d := cmp.Diff(before, c, opts...); d != "" {
		t.Fatalf("rollback left differences (-before +after):\n%s", d)
	}
}
