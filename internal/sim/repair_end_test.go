package sim

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// A job that can never run (24 GPUs on a facility of 16) does not keep
// the run going until a failed node is repaired: the run ends when the
// last job that ran ends, with it or without it (twin.md, "Node
// failures": the run ends when no job waits for a repair).
func TestUnrunnableJobDoesNotWaitForRepairs(t *testing.T) {
	for _, withX := range []bool{false, true} {
		jobs := []*model.Job{job("a", "acme", "normal", 1, 8, t0, 10*model.Hour)}
		if withX {
			jobs = append(jobs, job("x", "beta", "normal", 3, 8, t0, model.Hour))
		}
		res, err := Run(Config{Facility: facility(2), Jobs: jobs, Seed: 4, MTBF: 8 * model.Hour, MTTR: 2 * model.Day}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Jobs[0].End == 0 {
			t.Fatalf("with x %v: a never finished; the test needs it to", withX)
		}
		if res.End != res.Jobs[0].End {
			t.Errorf("with x %v: the run ends %s after a, the last job to run, ended", withX, res.End.Sub(res.Jobs[0].End))
		}
	}
}

// A job that needs a failed node does keep the run going: a gang of both
// nodes killed by a failure waits for the repair, then finishes.
func TestJobWaitingForARepairFinishes(t *testing.T) {
	killed := 0
	for seed := int64(1); seed <= 20; seed++ {
		jobs := []*model.Job{job("g", "acme", "normal", 2, 8, t0, 10*model.Hour)}
		res, err := Run(Config{Facility: facility(2), Jobs: jobs, Seed: seed, MTBF: 8 * model.Hour, MTTR: 2 * model.Day}, nil)
		if err != nil {
			t.Fatal(err)
		}
		g := res.Jobs[0]
		if g.End == 0 || res.End != g.End {
			t.Errorf("seed %d: g ends %s, the run %s; want it finished, and the run with it", seed, g.End, res.End)
		}
		if g.Failures > 0 {
			killed++
		}
	}
	if killed == 0 {
		t.Fatal("no seed had a failure kill g; the test needs some")
	}
}
