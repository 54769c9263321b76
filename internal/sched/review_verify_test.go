package sched_test

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
)

// plan.Verify does not check what the core promises about preemption
// victims (lower priority, or a borrower for reclaim), topology
// requirements, one GPU model per gang, or estimated starts ≥ now.
func TestReviewVerifyGaps(t *testing.T) {
	w, _ := reviewRun(t, `
site par country=FR jur=EU,FR envelope_kw=200
nodes n1 site=par
nodes n2 site=par model=H200
tenant acme
class high value=100 preemptible=yes
class low value=10 preemptible=yes
policy all=off preemption=on topology=on
running hi tenant=acme class=high on=n1:0-3 started=-1h
job lo tenant=acme class=low replicas=2 gpus=2 models=H100,H200 topology=nvlink:required
job late tenant=acme class=low gpus=8
`)
	snap := w.snapshot()
	bad := model.Plan{
		Now: w.clock,
		Starts: []model.Start{{Job: "lo", Replicas: []model.Placement{
			{Node: "n1", GPUs: []int{4, 5}}, {Node: "n2", GPUs: []int{0, 1}}, // two models, two NVLink domains
		}}},
		Preemptions: []model.Preemption{{Victim: "hi", Beneficiary: "late", Reason: "x",
			NoticeAt: w.clock, EvictAt: w.clock + 300}}, // a priority-100 job evicted for a priority-10 one
		Pending:      []model.Pending{{Job: "late", Code: model.ReasonCapacity, Message: "x", EstStart: w.clock - 3600}},
		Reservations: []model.Reservation{{Job: "late", Nodes: []string{"n1"}, EstStart: w.clock - 3600}},
	}
	if err := plan.Verify(snap, &bad); err != nil {
		t.Logf("Verify: %v", err)
	}
	if err := plan.Verify(snap, &bad); err == nil {
		t.Errorf("plan.Verify accepts a gang split across models and NVLink domains despite nvlink:required, " +
			"a higher-priority victim evicted for a lower-priority job, and estimated starts an hour in the past")
	}
}
