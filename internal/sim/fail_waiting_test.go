package sim

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// Nodes go on failing while a job waits for a repair. A failure that
// killed the only running job left the twin with no event of the
// workload to come (its queue's work at 0), and it took that for the end
// of the workload: the failed node's repair drew no next failure, and a
// failure of another node due then did not happen either, so from then
// on every node was up for good. A 200-hour gang on two nodes with an
// MTBF of a day failed twice, whatever the seed, where some 16 failures
// are due; a planner's lost GPU-hours came out far too low.
func TestNodesFailWhileAJobWaitsForRepair(t *testing.T) {
	const run, mtbf = 200 * model.Hour, model.Day
	failures := 0
	const seeds = 8
	for seed := int64(1); seed <= seeds; seed++ {
		jobs := []*model.Job{job("g", "acme", "normal", 2, 8, t0, run)}
		res, err := Run(Config{Facility: facility(2), Jobs: jobs, Seed: seed, MTBF: mtbf, MTTR: model.Hour}, nil)
		if err != nil {
			t.Fatal(err)
		}
		g := res.Jobs[0]
		if g.End == 0 {
			t.Fatalf("seed %d: g never finished", seed)
		}
		failures += g.Failures
	}
	// two nodes over at least 200 hours: about 2 × 200 h / 24 h ≈ 17
	// failures each run; fewer than 8 on average is the bug's 2
	if mean := float64(failures) / seeds; mean < 8 {
		t.Errorf("g was killed %.1f times per run on average; want about %.0f (2 nodes × %s / MTBF %s)",
			mean, 2*float64(run)/float64(mtbf), run, mtbf)
	}
}
