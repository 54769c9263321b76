package sim

import (
	"math"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/bundled"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/workload"
)

// TestStaleEventsDoNotStretchTheRun: a job preempted with notice that
// completes before its eviction leaves a stale eviction behind. The run
// ends with its last real event (h's completion), not at the stale
// eviction: the facility was busy the whole run and drew no idle energy.
func TestStaleEventsDoNotStretchTheRun(t *testing.T) {
	fac := facility(1)
	jobs := []*model.Job{
		job("a", "acme", "normal", 1, 8, t0, model.Hour),      // preempted at 00:58:20, evict at 01:03:20
		job("h", "beta", "high", 1, 8, t0+3500, model.Minute), // starts when a completes at 01:00
	}
	r, err := Run(Config{Facility: fac, Jobs: jobs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Jobs[0].End != t0+3600 || r.Jobs[1].End != t0+3660 {
		t.Fatalf("a ended %s, h %s; the scenario changed", r.Jobs[0].End, r.Jobs[1].End)
	}
	if r.End != t0+3660 {
		t.Errorf("the run ends %s, want %s (h's completion, the last event that did anything)", r.End, t0+3660)
	}
	s := Summarize(fac, r)
	if s.UtilizationMean != 1 || s.Sites["par"].Idle.ITMWh != 0 {
		t.Errorf("utilization %g, idle %g MWh; want 1 and 0: every GPU was busy from start to end",
			s.UtilizationMean, s.Sites["par"].Idle.ITMWh)
	}
}

// TestRunEndsWithTheLastJob: on the bundled workload, where jobs are
// capped, preempted and restarted at another speed (their first
// completion goes stale, in one case ten days after the last job ends),
// the run ends when the last job ends, with node failures too, and with
// GPU failures (which stop with the workload as node failures do).
func TestRunEndsWithTheLastJob(t *testing.T) {
	fac, err := bundled.Facility()
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := bundled.Jobs(fac)
	if err != nil {
		t.Fatal(err)
	}
	// With node failures (seeds 2 and 3 ended 9 days and 5 hours after
	// the last job): a stale completion still counted as the workload's,
	// so failures and repairs went on after the last job, and each made
	// an instant of the run, with its idle energy.
	for _, mtbf := range []model.Duration{0, 30 * model.Day} {
		for seed := int64(1); seed <= 3; seed++ {
			if mtbf == 0 && seed > 1 {
				break
			}
			cfg := Config{Facility: fac, Jobs: jobs, MTBF: mtbf, Seed: seed}
			if seed == 3 {
				cfg.GPUMTBF = 180 * model.Day
			}
			r, err := Run(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			last := model.Time(0)
			for _, j := range r.Jobs {
				if j.End == 0 {
					t.Fatalf("%s did not finish; the test needs a workload that does", j.Job.ID)
				}
				last = max(last, j.End)
			}
			if seed == 3 && len(r.GPUOutages) == 0 {
				t.Fatalf("MTBF %s, seed %d: no GPU failed; the test needs some", mtbf, seed)
			}
			if r.End != last {
				t.Errorf("MTBF %s, seed %d: the run ends %s, %s after the last job", mtbf, seed, r.End, r.End.Sub(last))
			}
		}
	}
}

// TestTimelinePowerWithNodeFailures: with node failures, the timeline's
// site power leaves out the nodes that are down, as the ledger does, so
// that its highest window is the summary's max_it_kw. With GPU failures
// too (seeds 3 and 4), a GPU down draws its idle power in both.
func TestTimelinePowerWithNodeFailures(t *testing.T) {
	for seed := int64(1); seed <= 4; seed++ {
		fac := workload.GenerateFacility(workload.FacilityConfig{Nodes: 20, Sites: 1, Tenants: 3, Cohorts: 1})
		cfg := Config{Facility: fac, Jobs: workload.Generate(fac, 150, 3, t0), Seed: seed,
			MTBF: 12 * model.Hour, MTTR: 2 * model.Hour}
		if seed >= 3 {
			cfg.GPUMTBF = 60 * model.Day
		}
		r, err := Run(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if seed >= 3 && len(r.GPUOutages) == 0 {
			t.Fatalf("seed %d: no GPU failed; the test needs some", seed)
		}
		s := Summarize(fac, r)
		for id, p := range SitePower(fac, r) {
			if led := r.Sites[id].MaxITW; math.Abs(p.Peak()-led) > 1e-6*led {
				t.Errorf("seed %d site %s: power series peaks at %.1f W, the ledger measured %.1f W", seed, id, p.Peak(), led)
			}
			kwh := 0.0 // the series integrates to the ledger's IT energy
			for i, w := range p.Watts {
				next := p.End
				if i+1 < len(p.Times) {
					next = p.Times[i+1]
				}
				kwh += w * float64(next-p.Times[i]) / 3.6e6
			}
			if led := r.Sites[id].All.ITkWh; math.Abs(kwh-led) > 1e-6*led {
				t.Errorf("seed %d site %s: power series integrates to %.3f kWh, the ledger to %.3f kWh", seed, id, kwh, led)
			}
			if got := maxOf(s.Timeline.SitePowerKW[id]); got != s.Sites[id].MaxITkW {
				t.Errorf("seed %d site %s: timeline peaks at %g kW, summary says %g", seed, id, got, s.Sites[id].MaxITkW)
			}
		}
	}
}

// TestJobWithoutSubmitTime: a job without a submit time would arrive at
// time 0, which the results read as "never": it ran, but counted as
// never started and not finished. Run refuses it.
func TestJobWithoutSubmitTime(t *testing.T) {
	jobs := []*model.Job{job("a", "acme", "normal", 1, 8, t0, 60), job("b", "acme", "normal", 1, 8, 0, 60)}
	_, err := Run(Config{Facility: facility(1), Jobs: jobs}, nil)
	if err == nil || !strings.Contains(err.Error(), "job b has no submit time") {
		t.Fatalf("Run: %v, want an error naming job b", err)
	}
}

// TestPassLimitMessage: a run stopped by MaxPasses said "the run does
// not end", also when the limit was only too low for the workload (a
// scenario set's max_passes: 600 for 1,000 jobs). The error says where
// the run was and that the limit can be raised.
func TestPassLimitMessage(t *testing.T) {
	jobs := []*model.Job{
		job("a", "acme", "normal", 1, 8, t0, model.Hour),
		job("b", "acme", "normal", 1, 8, t0+60, model.Hour),
		job("c", "acme", "normal", 1, 8, t0+120, model.Hour),
	}
	_, err := Run(Config{Facility: facility(1), Jobs: jobs, MaxPasses: 2}, nil)
	want := "sim: more than 2 scheduling passes at 2026-01-01T00:02:00Z, 0 of 3 jobs finished: the limit guards against runs that never end; raise it (max_passes in a scenario set, --max-passes of carnot sim) if this one should"
	if err == nil || err.Error() != want {
		t.Fatalf("Run: %v\nwant %s", err, want)
	}
}
