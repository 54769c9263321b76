package sched_test

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
	"github.com/carnot-dc/carnot/internal/sched"
)

// gangPowerEstimate: site s1 (6.5 kW; a1, a2: 8×H100), site s2 (100 kW;
// b1: 8×H100). R2 holds 4 GPUs of a2 at TDP until +2h: s1 then has 1,260
// W left, after R2 3,780 W, room for one 4-GPU replica at TDP, not two.
// R1 holds all of b1 until +1h; R0 is GPU-less on b1 until +30m.
// Pending p: 2×4 H100, topology any, no capping.
func gangPowerEstimate() (*model.Snapshot, model.Time) {
	now := t0
	f := newFacility()
	f.Policy.Quotas, f.Policy.Preemption, f.Policy.Reclaim, f.Policy.Deferral = false, false, false, false
	f.Policy.PowerCapping, f.Policy.Topology, f.Policy.FairShare = false, false, false
	f.Policy.BackfillDepth = 1
	f.Sites = []model.Site{
		{ID: "s1", Name: "s1", Country: "FR", Jurisdictions: []string{"EU"}, PUE: 1.2, GridZone: "FR", PowerEnvelopeKW: 6.5},
		{ID: "s2", Name: "s2", Country: "US", Jurisdictions: []string{"US"}, PUE: 1.2, GridZone: "US", PowerEnvelopeKW: 100},
	}
	f.Halls = []model.Hall{{ID: "s1-h1", Site: "s1", Cooling: model.CoolingLiquid}, {ID: "s2-h1", Site: "s2", Cooling: model.CoolingLiquid}}
	f.Racks = []model.Rack{{ID: "s1-r1", Hall: "s1-h1", Cooling: model.CoolingLiquid}, {ID: "s2-r1", Hall: "s2-h1", Cooling: model.CoolingLiquid}}
	f.Nodes = []model.Node{makeNode("a1", "s1").Obj(), makeNode("a2", "s1").Obj(), makeNode("b1", "s2").Obj()}
	f.Tenants = []model.Tenant{{Name: "t", FairShareWeight: 1}}
	f.PriorityClasses = []model.PriorityClass{{Name: "normal", Value: 50}}
	run := func(id string, gpus int, ends model.Duration, pl model.Placement) model.Allocation {
		j := makeJob(id, "t").Gang(1, gpus).Class("normal", false).Limit(ends + model.Hour).Obj()
		return allocation(j, now-model.Time(model.Hour), pl)
	}
	p := makeJob("p", "t").Gang(2, 4).Class("normal", false).Limit(model.Hour).Obj()
	return &model.Snapshot{Facility: f,
		Running: []model.Allocation{
			run("R0", 0, 30*model.Minute, model.Placement{Node: "b1"}),
			run("R1", 8, model.Hour, model.Placement{Node: "b1", GPUs: gpuRange(0, 8)}),
			run("R2", 4, 2*model.Hour, model.Placement{Node: "a2", GPUs: gpuRange(0, 4)}),
		},
		Pending: []*model.Job{p},
	}, now
}

// When the group Find picks for a gang lacks the power for all its
// replicas, another site with room and power takes it: at +2h Find
// prefers s1, which can power one replica, not two, so the estimate at
// +1h on b1 must hold (before, "fits" failed again at +2h and the
// search, which takes fit to grow with time, found no start at all).
func TestGangPowerEstimate(t *testing.T) {
	snap, now := gangPowerEstimate()
	got := sched.Schedule(snap, now)
	text, _ := render(t, snap, &got)
	if err := plan.Verify(snap, &got); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	noR0 := *snap
	noR0.Running = snap.Running[1:]
	ref := sched.Schedule(&noR0, now)
	refText, _ := render(t, &noR0, &ref)
	t.Logf("with R0:\n%s\nwithout R0:\n%s", text, refText)
	if len(got.Reservations) == 0 || got.Reservations[0].EstStart != now.Add(model.Hour) {
		t.Errorf("p gets no reservation at +1h:\n%s", text)
	}
}

// A queue whose last pass saw another state estimates as Schedule does.
func TestGangPowerEstimateQuick(t *testing.T) {
	snap, now := gangPowerEstimate()
	first := *snap
	first.Running = snap.Running[1:]
	secondQuickMatches(t, &first, now, snap, now)
}
