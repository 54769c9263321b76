package sim

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/workload"
)

// TestNoReclaimPingPong replays a generated workload with node failures
// on which two tenants' jobs used to evict each other for ever: one
// preempted the other by priority and, being its tenant's last victim,
// pushed that tenant below its nominal quota, which then took the GPUs
// back by reclaim, and so on (the run never ended: 200,000 passes and
// 115,000 preemptions for 1,500 jobs). By priority alone a borrower may
// no longer be pushed below its nominal quota; the run now ends.
func TestNoReclaimPingPong(t *testing.T) {
	if raceDetector {
		t.Skip("a 1,500-job replay takes a minute under the race detector; make check runs it without")
	}
	fac := workload.GenerateFacility(workload.FacilityConfig{Name: "x", Nodes: 80, GPUsPerNode: 8, Sites: 4, Tenants: 20, Cohorts: 4, Seed: 3})
	jobs := workload.Generate(fac, 1500, 102, t0)
	res, err := Run(Config{Facility: fac, Jobs: jobs, Seed: 102, MTBF: 72 * model.Hour, MaxPasses: 30_000}, nil)
	if err != nil {
		t.Fatal(err)
	}
	preempted := 0
	for _, j := range res.Jobs {
		preempted += j.Preemptions
	}
	if preempted > 2_000 {
		t.Errorf("%d preemptions for %d jobs", preempted, len(jobs))
	}
	t.Logf("%d passes, %d preemptions", res.Passes, preempted)
}
