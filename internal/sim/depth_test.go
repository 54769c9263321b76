package sim

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
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

// With quick passes, a job beyond the depth still gets a full pass at
// most FullPassEvery after the last, even when nothing happens until
// then: small, queued behind big (which never fits), started only at
// the full pass that considered it, and none came once the events were
// over, so the run ended with it never started. Alone and with
// PassEvery, it starts at the full pass due at 00:05.
func TestPassDepthFullPassComesWithoutEvents(t *testing.T) {
	jobs := []*model.Job{
		job("j0", "acme", "normal", 1, 8, t0, 2*model.Minute),
		job("big", "beta", "high", 2, 8, t0+60, model.Hour), // 16 GPUs on one 8-GPU node: never
		job("small", "acme", "normal", 1, 8, t0+60, model.Hour),
	}
	for _, every := range []model.Duration{0, model.Minute} {
		res, err := Run(Config{Facility: facility(1), Jobs: jobs, PassDepth: 1, PassEvery: every}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Jobs[2].FirstStart; got != t0.Add(5*model.Minute) {
			t.Errorf("PassEvery %s: small started at %s, want 00:05, at the full pass due then", every, got)
		}
	}
}
