package sched_test

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
	"github.com/carnot-dc/carnot/internal/sched"
)

// downNodeSnapshot: site s1 (envelope 5.0 kW) with two 8×H100 nodes, A
// up and B down. Both idle at 800 + 8×70 = 1,360 W; the envelope leaves
// 2,280 W above that, room for three GPUs at TDP (630 W above idle each)
// once both nodes are on. P asks for four GPUs, uncapped.
func downNodeSnapshot() (*model.Snapshot, model.Time) {
	f := newFacility()
	f.Policy.PowerCapping = false
	f.Policy.Deferral = false
	f.Policy.Quotas = false
	f.Sites = []model.Site{{ID: "s1", Name: "s1", Country: "FR", Jurisdictions: []string{"EU"}, PUE: 1.2, GridZone: "FR", PowerEnvelopeKW: 5.0}}
	f.Halls = []model.Hall{{ID: "s1-h1", Site: "s1", Cooling: model.CoolingLiquid}}
	f.Racks = []model.Rack{{ID: "s1-r1", Hall: "s1-h1", Cooling: model.CoolingLiquid}}
	f.Nodes = []model.Node{makeNode("A", "s1").Obj(), makeNode("B", "s1").Obj()}
	f.Tenants = []model.Tenant{{Name: "t1", FairShareWeight: 1}}
	f.PriorityClasses = []model.PriorityClass{{Name: "normal", Value: 50}}
	p := makeJob("P", "t1").Gang(1, 4).Class("normal", false).Limit(model.Hour).Submit(t0 - 60).Obj()
	return &model.Snapshot{Facility: f, Pending: []*model.Job{p},
		Nodes: []model.NodeState{{Node: "B", Condition: model.NodeDown}}}, t0
}

// TestDownNodeKeepsItsIdlePower: a node that is down comes back (a
// repair, an agent that registers again, a partition that heals) and
// draws at least its base and idle power the moment it does, without
// the core having a say. The core counted a down node as drawing
// nothing, so it gave that power to other work: here it started P's
// four GPUs on A, and once B was back the site drew 1,360 + 1,360 +
// 4×630 = 5,240 W, above its 5,000 W envelope. The facility validator
// already requires every node's idle draw to fit under each envelope
// and cap ("so its nodes could never all be on"); a down node must keep
// that share reserved.
func TestDownNodeKeepsItsIdlePower(t *testing.T) {
	snap, now := downNodeSnapshot()
	p := sched.Schedule(snap, now)
	if err := plan.Verify(snap, &p); err != nil {
		t.Fatalf("plan fails Verify: %v", err)
	}
	up := *snap
	up.Nodes = nil // B repaired: every node on
	if w := plan.SitePowerW(&up, &p)["s1"]; w > 5000 {
		t.Fatalf("started %v; once B is back the site draws %.0f W, above its 5000 W envelope", p.Starts, w)
	}
	if len(p.Starts) != 0 || len(p.Pending) != 1 || p.Pending[0].Code != model.ReasonPower {
		t.Fatalf("want P waiting for power, got starts %v pending %+v", p.Starts, p.Pending)
	}
}

// TestVerifyCountsDownNodesIdlePower: Verify rejects the plan the core
// used to make in TestDownNodeKeepsItsIdlePower.
func TestVerifyCountsDownNodesIdlePower(t *testing.T) {
	snap, now := downNodeSnapshot()
	p := &model.Plan{Now: now, Starts: []model.Start{{Job: "P", Replicas: []model.Placement{{Node: "A", GPUs: gpuRange(0, 4)}}}}}
	if err := plan.Verify(snap, p); err == nil {
		t.Fatal("Verify accepts a start that leaves no room for the down node's idle power")
	}
	if w := plan.SitePowerW(snap, nil)["s1"]; w != 2720 {
		t.Fatalf("idle site with B down draws %.0f W, want 2720 (both nodes' base and idle power)", w)
	}
}
