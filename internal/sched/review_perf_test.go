package sched_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// When no running job is preemptible, preempt() still scans every running
// allocation for every capacity-blocked pending job (preemptTries counts
// only searches that found candidates), so a full cluster costs
// O(running × pending) per pass.
func TestReviewPreemptScanIsPerPendingJob(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
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
	timeIt := func(s *model.Snapshot) time.Duration {
		start := time.Now()
		sched.Schedule(s, t0)
		return time.Since(start)
	}
	off, on := timeIt(build(false)), timeIt(build(true))
	t.Logf("10k pending, 16k running (none preemptible): preemption off %s, on %s", off, on)
	if on > 10*off+100*time.Millisecond {
		t.Errorf("preemption on costs %.0f× the pass with it off although no job is preemptible", float64(on)/float64(off))
	}
}

// With preemptTries counted before candidates are known (working tree),
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
