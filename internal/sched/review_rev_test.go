package sched_test

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
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
