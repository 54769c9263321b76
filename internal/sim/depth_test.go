package sim

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/workload"
)

// TestPassDepth: with quick passes between full ones every job still
// runs, every plan passes Verify (Run fails otherwise), and a depth of one
// job changes the run (the option is not a no-op).
func TestPassDepth(t *testing.T) {
	fac := workload.GenerateFacility(workload.FacilityConfig{Nodes: 20, Sites: 1, Tenants: 4, Cohorts: 2})
	full, err := Run(Config{Facility: fac, Jobs: workload.Generate(fac, 200, 5, t0)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	quick, err := Run(Config{Facility: fac, Jobs: workload.Generate(fac, 200, 5, t0), PassDepth: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := func(r *Result) (n int) {
		for _, j := range r.Jobs {
			if j.End > 0 {
				n++
			}
		}
		return n
	}
	if done(quick) < done(full)*9/10 {
		t.Fatalf("depth 1: %d jobs finished, full passes: %d", done(quick), done(full))
	}
	same := true
	for i := range full.Jobs {
		same = same && full.Jobs[i].FirstStart == quick.Jobs[i].FirstStart
	}
	if same {
		t.Fatal("depth 1 gave the same starts as full passes; the option does nothing")
	}
}
