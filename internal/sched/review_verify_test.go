package sched_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
)

// verifyKeys renders Verify's violations as "code job".
func verifyKeys(err error) []string {
	var out []string
	for _, v := range plan.Violations(err) {
		out = append(out, fmt.Sprintf("%s %s", v.Code, v.Job))
	}
	return out
}

// plan.Verify checks what the core promises about preemption victims
// (lower priority, or a borrower for reclaim), topology requirements, one
// GPU model per gang, estimated starts ≥ now, quotas and deferrals.
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
	want := []string{"gang-model lo", "topology lo", "victim hi", "est-start late", "est-start late"}
	if diff := cmp.Diff(want, verifyKeys(plan.Verify(snap, &bad))); diff != "" {
		t.Errorf("Verify of a gang split across models and NVLink domains despite nvlink:required, a higher-priority "+
			"victim evicted for a lower-priority job, and estimated starts an hour in the past (-want +got):\n%s", diff)
	}
}

// plan.Verify rejects a start beyond what the tenant's quota tree makes
// available and a deferral of a job without a window.
func TestReviewVerifyQuotaAndDeferral(t *testing.T) {
	w, _ := reviewRun(t, `
site par country=FR jur=EU,FR envelope_kw=200
nodes n[1-2] site=par
cohort c1
tenant acme cohort=c1 quota=H100:4
tenant beta cohort=c1 quota=H100:4
policy all=off quotas=on deferral=on
running b1 tenant=beta on=n1:0-2 started=-1h
job a1 tenant=acme gpus=6
job a2 tenant=acme gpus=1
`)
	snap := w.snapshot()
	bad := model.Plan{
		Now:       w.clock,
		Starts:    []model.Start{{Job: "a1", Replicas: []model.Placement{{Node: "n2", GPUs: []int{0, 1, 2, 3, 4, 5}}}}},
		Deferrals: []model.Deferral{{Job: "a2", Until: w.clock + 3600}},
		Pending:   []model.Pending{{Job: "a2", Code: model.ReasonDeferred, Message: "x"}},
	}
	// acme may use its own 4 and the 1 beta leaves unused: 5, not 6.
	want := []string{"quota a1", "inflexible a2"}
	if diff := cmp.Diff(want, verifyKeys(plan.Verify(snap, &bad))); diff != "" {
		t.Errorf("Verify of a start beyond quota and a deferral of an inflexible job (-want +got):\n%s", diff)
	}
	bad.Starts[0].Replicas[0].GPUs = bad.Starts[0].Replicas[0].GPUs[:5]
	snap.Pending[0].GPUsPerReplica = 5
	if diff := cmp.Diff(want[1:], verifyKeys(plan.Verify(snap, &bad))); diff != "" {
		t.Errorf("Verify of a start that borrows all the cohort lends (-want +got):\n%s", diff)
	}
}
