package scenario

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/carnot-dc/carnot/internal/bundled"
	"github.com/carnot-dc/carnot/internal/model"
)

// The energy goals of docs/plan.md, as properties of small runs on
// France's 2023 grid (the series built into carnot). The full-size
// figures, with the commands that give them, are in docs/plan.md.

// runSet loads a testdata set, optionally edits it, and runs it.
func runSet(t *testing.T, file string, edit func(*Set)) map[string]Metrics {
	t.Helper()
	s, err := LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(s)
	}
	cases, err := Prepare(s, Options{Grid: bundled.Grid})
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(context.Background(), cases, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]Metrics{}
	for _, o := range out {
		m[o.Name] = o.Metrics
	}
	return m
}

// TestGoalDeferral: 4 h jobs with 12 h of slack, deferred to cleaner and
// cheaper hours, emit at least 10 % less carbon and cost at least 13 %
// less than run at arrival, and meet every deadline.
func TestGoalDeferral(t *testing.T) {
	m := runSet(t, "testdata/deferral.yaml", nil)
	at, def := m["at-arrival"], m["deferral"]
	carbon, cost := def.FlexCarbonT/at.FlexCarbonT-1, def.FlexCostEUR/at.FlexCostEUR-1
	bc, bp := foresightBound(t, "testdata/deferral.yaml")
	t.Logf("perfect-foresight bound (each job alone, best whole-hour start in its window): carbon %+.1f %%, cost %+.1f %%", 100*bc, 100*bp)
	t.Logf("deferral vs at arrival: carbon %+.1f %%, cost %+.1f %%; %d of %d jobs deferred; missed deadlines %d and %d",
		100*carbon, 100*cost, def.DeferredJobs, def.Jobs, at.DeadlineMisses, def.DeadlineMisses)
	if at.DeadlineJobs != at.Jobs || at.FlexCarbonT <= 0 || at.FlexCostEUR <= 0 {
		t.Fatalf("every job should be flexible and priced: %+v", at)
	}
	if carbon > -0.10 {
		t.Errorf("carbon %+.1f %%, want at most -10 %%", 100*carbon)
	}
	if cost > -0.13 {
		t.Errorf("cost %+.1f %%, want at most -13 %%", 100*cost)
	}
	if at.DeadlineMisses != 0 || def.DeadlineMisses != 0 {
		t.Errorf("missed deadlines: %d at arrival, %d deferred; want none", at.DeadlineMisses, def.DeadlineMisses)
	}
	if def.GPUHours != at.GPUHours || def.Finished != def.Jobs {
		t.Errorf("deferral changed the work done: %g vs %g GPU-hours, %d of %d finished", def.GPUHours, at.GPUHours, def.Finished, def.Jobs)
	}
}

// TestGoalEnvelope: under envelopes of 100, 80 and 70 % of nameplate, and
// with 25 % more GPUs than the envelope allows at TDP, the site never
// draws more than its envelope, on several random workloads; without the
// envelope the same load exceeds it (so the check has teeth). The
// capacity figure (work done while jobs arrive, against the same GPUs
// without an envelope) is logged: the goal of 95 % is not met (see
// docs/plan.md), so it is recorded, not asserted.
func TestGoalEnvelope(t *testing.T) {
	for seed := int64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			m := runSet(t, "testdata/envelope.yaml", func(s *Set) { s.Workload.Generate.Seed = seed })
			for _, name := range []string{"capped+env100", "capped+env80", "capped+env70", "capped+x1.25"} {
				r := m[name]
				if r.Jobs == 0 || r.EnvelopeViolations != 0 || r.PeakOverEnvelope > 1+1e-9 {
					t.Errorf("%s: %d envelope violations, peak %.4f of the envelope", name, r.EnvelopeViolations, r.PeakOverEnvelope)
				}
			}
			free := m["no-envelope+x1.25"]
			if free.PeakOverEnvelope <= 1 {
				t.Errorf("without the envelope the peak is %.3f of it; the load does not test the envelope", free.PeakOverEnvelope)
			}
			capped := m["capped+x1.25"]
			t.Logf("1.25x GPUs under the envelope: %.1f %% of the work and %.1f %% of the GPU-hours of the unconstrained run while jobs arrive; %.0f %% of GPU-hours capped",
				100*capped.WorkGPUHoursWindow/free.WorkGPUHoursWindow, 100*capped.GPUHoursWindow/free.GPUHoursWindow,
				100*capped.CappedGPUHours/capped.GPUHours)
		})
	}
}

// foresightBound is what deferral could save with perfect knowledge and
// unlimited room: for each flexible job, the best whole-hour start in its
// window by carbon (and, separately, by price) against its start at
// submission, weighted by GPUs × runtime.
func foresightBound(t *testing.T, file string) (carbon, price float64) {
	t.Helper()
	s, err := LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cases, err := Prepare(s, Options{Grid: bundled.Grid})
	if err != nil {
		t.Fatal(err)
	}
	gs := cases[0].Config.Grid[0]
	avg := func(from model.Time, d model.Duration) (c, p float64, ok bool) {
		h0 := gs.Hours[0].Start
		if from < h0 || int((from.Add(d)-h0+3599)/3600) > len(gs.Hours) {
			return 0, 0, false
		}
		for t := from; t < from.Add(d); {
			i := int((t - h0) / 3600)
			end := min(h0+model.Time(3600*(i+1)), from.Add(d))
			c += gs.Hours[i].CarbonGkWh * float64(end-t)
			p += gs.Hours[i].PriceEURMWh * float64(end-t)
			t = end
		}
		return c / float64(d), p / float64(d), true
	}
	var base, best [2]float64
	for _, j := range cases[0].Config.Jobs {
		if j.Deadline == 0 {
			continue
		}
		c0, p0, ok := avg(j.SubmitTime, j.RuntimeLimit)
		if !ok {
			continue
		}
		w := float64(j.TotalGPUs()) * float64(j.RuntimeLimit)
		bc, bp := c0, p0
		for h := (j.SubmitTime/3600 + 1) * 3600; h.Add(j.RuntimeLimit) <= j.Deadline; h += 3600 {
			if c, p, ok := avg(h, j.RuntimeLimit); ok {
				bc, bp = math.Min(bc, c), math.Min(bp, p)
			}
		}
		base[0], base[1] = base[0]+w*c0, base[1]+w*p0
		best[0], best[1] = best[0]+w*bc, best[1]+w*bp
	}
	return best[0]/base[0] - 1, best[1]/base[1] - 1
}
