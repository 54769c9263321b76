package sched_test

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
	"github.com/carnot-dc/carnot/internal/sched"
)

// gpulessReclaim: one 8×H100 node. Tenants a (nominal 8 H100) and b
// (nominal 0, borrowing) share cohort c1. b runs bgpu (2 H100, borrowed)
// and bcpu, a GPU-less job holding 120 of the node's 128 CPUs; a's
// pending job needs 1 GPU and 16 CPUs.
func gpulessReclaim(preemption bool) (*model.Snapshot, model.Time) {
	now := t0
	f := newFacility()
	oneSite(f, 100)
	f.Policy.Preemption = preemption
	f.Policy.Power, f.Policy.Deferral = false, false
	f.Nodes = []model.Node{makeNode("n1", "s1").Obj()}
	f.Cohorts = []model.Cohort{{Name: "c1"}}
	f.Tenants = []model.Tenant{
		{Name: "a", Cohort: "c1", FairShareWeight: 1, Quota: map[string]model.Quota{"H100": quota(8, -1, -1)}},
		{Name: "b", Cohort: "c1", FairShareWeight: 1, Quota: map[string]model.Quota{"H100": quota(0, -1, -1)}},
	}
	f.PriorityClasses = []model.PriorityClass{{Name: "normal", Value: 50}, {Name: "low", Value: 10, Preemptible: true}}
	bgpu := makeJob("bgpu", "b").Gang(1, 2).Class("low", true).Resources(4, 32).Obj()
	bcpu := makeJob("bcpu", "b").Gang(1, 0).Class("low", true).Resources(120, 32).Obj()
	ajob := makeJob("ajob", "a").Gang(1, 1).Class("normal", false).Resources(16, 32).Obj()
	started := now - model.Time(2*model.Hour)
	return &model.Snapshot{Facility: f,
		Running: []model.Allocation{
			allocation(bgpu, started, model.Placement{Node: "n1", GPUs: gpuRange(0, 2)}),
			allocation(bcpu, started, model.Placement{Node: "n1"}),
		},
		Pending: []*model.Job{ajob},
	}, now
}

// Reclaim takes back borrowed GPUs: it evicts no GPU-less job, which
// gives back none (found by a harder property generator; plan.Verify
// refused such a plan). Priority preemption may still take it.
func TestReclaimTakesNoGPUlessVictim(t *testing.T) {
	for _, preemption := range []bool{false, true} {
		snap, now := gpulessReclaim(preemption)
		p := sched.Schedule(snap, now)
		text, _ := render(t, snap, &p)
		if err := plan.Verify(snap, &p); err != nil {
			t.Errorf("preemption=%v: plan fails Verify:\n%v\n%s", preemption, err, text)
		}
		for _, pr := range p.Preemptions {
			if pr.Victim == "bcpu" && !preemption {
				t.Errorf("preemption off: bcpu evicted (%s)", pr.Reason)
			}
		}
		q := sched.NewQueue(snap.Facility, snap.Pending)
		quick := *snap
		quick.Pending = nil
		if qp, _ := sched.Quick(&quick, q, now, 0); len(qp.Preemptions) != len(p.Preemptions) {
			t.Errorf("preemption=%v: Quick preempts %+v, Schedule %+v", preemption, qp.Preemptions, p.Preemptions)
		}
	}
}
