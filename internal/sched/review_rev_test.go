package sched_test

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
	"github.com/carnot-dc/carnot/internal/sched"
)

// TestParkedBeneficiaryStaysParked: a job that can never start under the
// quotas is parked by the Queue; that a victim of an earlier preemption
// for it is still leaving must not bring it back into Quick's walk (the
// first round of beneficiaries), since Quick without a depth gives
// Schedule's plan less the parked jobs.
func TestParkedBeneficiaryStaysParked(t *testing.T) {
	fac := parkFacility()
	big := makeJob("big", "acme").Gang(2, 8).Limit(model.Hour).Obj()
	v := makeJob("v", "acme").Gang(1, 8).Limit(model.Hour).Submit(t0 - 7200).Obj()
	a := allocation(v, t0-3600, model.Placement{Node: "n1", GPUs: gpuRange(0, 8)})
	a.Terminating, a.EvictAt, a.PreemptedFor = true, t0+600, "big"
	snap := &model.Snapshot{Facility: fac, Running: []model.Allocation{a}}
	q := sched.NewQueue(fac, []*model.Job{big})
	p, _ := sched.Quick(snap, q, t0, 0)
	if len(p.Pending) != 1 || p.Pending[0].Code != model.ReasonQuota || q.Parked() != 1 {
		t.Fatalf("first pass: want big parked with a quota reason, got %+v, %d parked", p.Pending, q.Parked())
	}
	p, considered := sched.Quick(snap, q, t0+60, 0)
	if len(p.Pending) != 0 || len(p.Starts) != 0 || len(considered) != 0 {
		t.Fatalf("second pass walked the parked job: %+v, %d considered", p.Pending, len(considered))
	}
}

// staleClaimSnapshot: b (low priority, 3×8 GPUs) has n1's GPUs claimed
// for it, but with n3 busy it cannot start on n1 and n2, and no victim
// may be taken for it (r is not preemptible): it gives its claim up. h
// (high priority, 8 GPUs) fits on n1 or n2 now.
func staleClaimSnapshot(backfill bool) *model.Snapshot {
	fac := newFacility()
	fac.Policy.Quotas, fac.Policy.Deferral, fac.Policy.Backfill = false, false, backfill
	fac.Sites = []model.Site{{ID: "s1", Jurisdictions: []string{"EU"}, PowerEnvelopeKW: 1000, PUE: 1.2}}
	fac.Nodes = []model.Node{makeNode("n1", "s1").Obj(), makeNode("n2", "s1").Obj(), makeNode("n3", "s1").Obj()}
	fac.Tenants = []model.Tenant{{Name: "t1", FairShareWeight: 1}}
	fac.PriorityClasses = []model.PriorityClass{{Name: "high", Value: 100}, {Name: "low", Value: 10}}
	r := makeJob("r", "t1").Gang(1, 8).Class("high", false).Limit(2 * model.Hour).Submit(t0 - 7200).Obj()
	b := makeJob("b", "t1").Gang(3, 8).Class("low", false).Limit(model.Hour).Submit(t0 - 600).Obj()
	h := makeJob("h", "t1").Gang(1, 8).Class("high", false).Limit(model.Hour).Submit(t0 - 60).Obj()
	gs := make([]model.GPUState, 8)
	for g := range gs {
		gs[g] = model.GPUState{ClaimedBy: "b"}
	}
	return &model.Snapshot{Facility: fac, Pending: []*model.Job{b, h},
		Nodes:   []model.NodeState{{Node: "n1", GPUs: gs}},
		Running: []model.Allocation{allocation(r, t0-3600, model.Placement{Node: "n3", GPUs: gpuRange(0, 8)})}}
}

// TestUnusableClaimKeepsNoPriority: a beneficiary served before every
// level that can use neither its claim nor a new preemption waits at its
// own turn. Served first, b's capacity block held every pool for it with
// backfill off, and h, of a higher priority, waited behind it with room
// free ("priority: waiting behind job b"); with backfill on, b took the
// reservation ahead of h. Before beneficiaries went first, h started.
func TestUnusableClaimKeepsNoPriority(t *testing.T) {
	for _, backfill := range []bool{false, true} {
		snap := staleClaimSnapshot(backfill)
		for name, p := range map[string]model.Plan{"Schedule": sched.Schedule(snap, t0), "Quick": quickPlan(snap)} {
			if err := plan.Verify(snap, &p); err != nil {
				t.Fatalf("backfill %v, %s: %v", backfill, name, err)
			}
			if len(p.Starts) != 1 || p.Starts[0].Job != "h" {
				t.Errorf("backfill %v, %s: want h started, got starts %+v pending %+v", backfill, name, p.Starts, p.Pending)
			}
		}
	}
	// With n2 busy too and h a gang of two nodes, h and b wait; the
	// reservation goes to h, whose priority is higher, not to b for a
	// claim it gave up.
	snap := staleClaimSnapshot(true)
	x := makeJob("x", "t1").Gang(1, 8).Class("high", false).Limit(model.Hour).Submit(t0 - 7200).Obj()
	snap.Running = append(snap.Running, allocation(x, t0-3000, model.Placement{Node: "n2", GPUs: gpuRange(0, 8)}))
	snap.Pending[1].Replicas = 2
	p := sched.Schedule(snap, t0)
	if len(p.Reservations) != 1 || p.Reservations[0].Job != "h" {
		t.Errorf("want the reservation for h, got %+v (pending %+v)", p.Reservations, p.Pending)
	}
}

func quickPlan(snap *model.Snapshot) model.Plan {
	q := sched.NewQueue(snap.Facility, snap.Pending)
	p, _ := sched.Quick(&model.Snapshot{Facility: snap.Facility, Nodes: snap.Nodes, Running: snap.Running}, q, t0, 0)
	return p
}
