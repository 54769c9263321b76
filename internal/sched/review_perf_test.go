package sched_test

import (
	"fmt"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// BenchmarkPreemptionScan: a full cluster of 16k running jobs, none
// preemptible, and 10k blocked high-priority jobs. With preemption on, the
// pass must not scan every running job for every blocked job (it once
// did: O(running × pending)); compare the two sub-benchmarks' ratio.
func BenchmarkPreemptionScan(b *testing.B) {
	build := func(preempt bool) *model.Snapshot {
		fac := newFacility()
		fac.Sites = []model.Site{{ID: "par", Country: "FR", Jurisdictions: []string{"EU"}, PowerEnvelopeKW: 1e6}}
		fac.Tenants = []model.Tenant{{Name: "acme"}}
		fac.PriorityClasses = []model.PriorityClass{{Name: "low", Value: 1}, {Name: "high", Value: 100}}
		fac.Policy = model.Policy{Preemption: preempt, Backfill: true, BackfillDepth: 16}
		s := &model.Snapshot{Facility: fac}
		for i := 0; i < 2000; i++ {
			name := fmt.Sprintf("n%04d", i)
			fac.Nodes = append(fac.Nodes, makeNode(name, "par").Obj())
			for g := 0; g < 8; g++ {
				j := makeJob(fmt.Sprintf("r%04d-%d", i, g), "acme").Class("low", false).Obj()
				s.Running = append(s.Running, allocation(j, t0-3600, model.Placement{Node: name, GPUs: []int{g}}))
			}
		}
		for i := 0; i < 10000; i++ {
			s.Pending = append(s.Pending, makeJob(fmt.Sprintf("p%05d", i), "acme").Class("high", true).Submit(t0-model.Time(i)).Obj())
		}
		return s
	}
	for _, on := range []bool{false, true} {
		s := build(on)
		b.Run(fmt.Sprintf("preemption=%v", on), func(b *testing.B) {
			for b.Loop() {
				sched.Schedule(s, t0)
			}
		})
	}
}

// A search budget counted before candidates are known would let
// 64 high-priority jobs that have no victims on their model use up the
// pass's searches and a later job that does have a victim never preempts.
func TestReviewPreemptBudgetStarvesLaterJobs(t *testing.T) {
	fac := newFacility()
	fac.Sites = []model.Site{{ID: "par", Country: "FR", Jurisdictions: []string{"EU"}, PowerEnvelopeKW: 1e6}}
	fac.Tenants = []model.Tenant{{Name: "acme"}}
	fac.PriorityClasses = []model.PriorityClass{{Name: "low", Value: 1, Preemptible: true}, {Name: "high", Value: 100}}
	fac.Policy = model.Policy{Preemption: true, Backfill: true, BackfillDepth: 4}
	fac.Nodes = []model.Node{makeNode("h200", "par").Model("H200", 8).Obj(), makeNode("h100", "par").Obj()}
	s := &model.Snapshot{Facility: fac}
	s.Running = append(s.Running,
		allocation(makeJob("fixed", "acme").Class("high", false).Gang(1, 8).Obj(), t0-3600, model.Placement{Node: "h200", GPUs: gpuRange(0, 8)}),
		allocation(makeJob("victim", "acme").Class("low", true).Gang(1, 8).Obj(), t0-3600, model.Placement{Node: "h100", GPUs: gpuRange(0, 8)}))
	for i := 0; i < 70; i++ {
		s.Pending = append(s.Pending, makeJob(fmt.Sprintf("h200-%02d", i), "acme").Class("high", false).
			Models("H200").Gang(1, 8).Submit(t0-1000+model.Time(i)).Obj())
	}
	s.Pending = append(s.Pending, makeJob("h100-job", "acme").Class("high", false).Models("H100").Gang(1, 8).Submit(t0).Obj())
	p := sched.Schedule(s, t0)
	if len(p.Preemptions) == 0 {
		t.Errorf("h100-job could preempt victim but no preemption happened (preempt budget spent on H200 jobs without victims)")
	}
}
