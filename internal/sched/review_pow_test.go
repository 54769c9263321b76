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
	oneSite(f, 5.0)
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

// unreachableSnapshot is downNodeSnapshot with a 10 kW envelope and B
// unreachable (a partition), where R, capped at 300 W, ran when it went
// silent. B may still run R, or anything, at up to TDP: it counts at
// nameplate, 800 + 8×700 = 6,400 W, with A's idle 1,360 W: 7,760 W,
// leaving 2,240 W, room for three GPUs at TDP (630 W above idle), not
// P's four. Counted by what the snapshot says runs there (800 + 8×300 =
// 3,200 W), P would fit.
func unreachableSnapshot() (*model.Snapshot, model.Time) {
	snap, now := downNodeSnapshot()
	snap.Facility.Sites[0].PowerEnvelopeKW = 10
	snap.Nodes[0].Condition = model.NodeUnreachable
	r := makeJob("R", "t1").Gang(1, 8).Class("normal", false).Limit(model.Hour).Submit(t0 - 3600).Obj()
	snap.Running = []model.Allocation{{Job: r, Started: now - 600,
		Replicas: []model.Placement{{Node: "B", GPUs: gpuRange(0, 8), PowerCapW: 300}}}}
	return snap, now
}

// TestUnreachableNodeCountsAtNameplate: the core and Verify count an
// unreachable node at nameplate, whatever the snapshot says runs on it,
// in a fresh view and in a Queue's kept view once its allocation is gone
// (the server loses a silent node's replicas); a node known to be down
// counts at what holds it.
func TestUnreachableNodeCountsAtNameplate(t *testing.T) {
	snap, now := unreachableSnapshot()
	if w := plan.SitePowerW(snap, nil)["s1"]; w != 7760 {
		t.Fatalf("site with B unreachable draws %.0f W, want 7760 (A idle, B at nameplate)", w)
	}
	p := sched.Schedule(snap, now)
	if err := plan.Verify(snap, &p); err != nil {
		t.Fatalf("plan fails Verify: %v", err)
	}
	if len(p.Starts) != 0 || len(p.Pending) != 1 || p.Pending[0].Code != model.ReasonPower {
		t.Fatalf("want P waiting for power, got starts %v pending %+v", p.Starts, p.Pending)
	}
	start := &model.Plan{Now: now, Starts: []model.Start{{Job: "P", Replicas: []model.Placement{{Node: "A", GPUs: gpuRange(0, 4)}}}}}
	if err := plan.Verify(snap, start); err == nil {
		t.Fatal("Verify accepts a start that leaves no room for the unreachable node's nameplate")
	}
	// A Queue keeps its view: the next snapshot has lost R, B is still
	// silent; releasing R's GPUs must not free their power.
	q := sched.NewQueue(snap.Facility, snap.Pending)
	if p, _ := sched.Quick(snap, q, now, 0); len(p.Starts) != 0 {
		t.Fatalf("Quick started %v with B unreachable", p.Starts)
	}
	lost := *snap
	lost.Running = nil
	if p, _ := sched.Quick(&lost, q, now+60, 0); len(p.Starts) != 0 {
		t.Fatalf("Quick started %v once B's allocation was lost, B still unreachable", p.Starts)
	}
	// With 280 W more of envelope P fits beside the nameplate (10,280 W):
	// counting R's draw on top of it would refuse it.
	wider := *snap
	fac := *snap.Facility
	fac.Sites = []model.Site{fac.Sites[0]}
	fac.Sites[0].PowerEnvelopeKW = 10.3
	wider.Facility = &fac
	p = sched.Schedule(&wider, now)
	if err := plan.Verify(&wider, &p); err != nil || len(p.Starts) != 1 {
		t.Fatalf("at 10.3 kW want P started and verified, got starts %v pending %+v, %v", p.Starts, p.Pending, err)
	}
	// Known to be down, B draws what the snapshot says: P fits.
	down := *snap
	down.Nodes = []model.NodeState{{Node: "B", Condition: model.NodeDown}}
	if w := plan.SitePowerW(&down, nil)["s1"]; w != 1360+3200 {
		t.Fatalf("site with B down, R capped on it, draws %.0f W, want 4560", w)
	}
	if p := sched.Schedule(&down, now); len(p.Starts) != 1 {
		t.Fatalf("with B down, want P started, got pending %+v", p.Pending)
	}
}
