package sched_test

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
	"github.com/carnot-dc/carnot/internal/sched"
)

// mixedLent: a deployment whose two replicas share an own cap (394 W)
// but run at different caps (394 W, 525 W lent) under a site envelope
// that leaves a 4-GPU start room only if the 525 W replica is lowered.
func mixedLent() (*model.Snapshot, model.Time) {
	now := t0
	f := newFacility()
	oneSite(f, (2139.0-131+4*130+10)/1000)
	f.Policy.Quotas, f.Policy.Preemption, f.Policy.Reclaim, f.Policy.Deferral = false, false, false, false
	f.Policy.Power, f.Policy.PowerCapping, f.Policy.PowerRecap = true, true, true
	f.Nodes = []model.Node{makeNode("n1", "s1").Obj()}
	f.Tenants = []model.Tenant{{Name: "a", FairShareWeight: 1}}
	f.PriorityClasses = []model.PriorityClass{{Name: "normal", Value: 50}}
	dep := makeJob("dep", "a").Deployment(2, 1, 1).Class("normal", false).Obj()
	pj := makeJob("p", "a").Gang(1, 4).Class("normal", false).Obj()
	return &model.Snapshot{Facility: f,
		Running: []model.Allocation{allocation(dep, now-model.Time(model.Hour),
			model.Placement{Node: "n1", GPUs: []int{0}, PowerCapW: 394},
			model.Placement{Node: "n1", GPUs: []int{1}, PowerCapW: 525, StartCapW: 394})},
		Pending: []*model.Job{pj},
	}, now
}

// A job whose replicas run at different caps is left as it runs (the
// core plans a recall and a loan by one cap per job): planning it at its
// own cap counted the lent replica's watts as free, started p on them,
// and never lowered it, over the envelope (found by a harder property
// generator; neither driver makes such a job today).
func TestMixedCapsNotRecalled(t *testing.T) {
	snap, now := mixedLent()
	p := sched.Schedule(snap, now)
	text, _ := render(t, snap, &p)
	if err := plan.Verify(snap, &p); err != nil {
		t.Errorf("plan fails Verify:\n%v\n%s", err, text)
	}
}
