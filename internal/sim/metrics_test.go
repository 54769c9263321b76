package sim

import (
	"bytes"
	"encoding/csv"
	"math"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/workload"
)

func TestTimelineStep(t *testing.T) {
	for _, c := range []struct {
		span model.Duration
		want model.Duration
	}{
		{0, 1}, {500, 1}, {501, 2}, {3600, 10}, {model.Day, 300}, {30 * model.Day, 2 * model.Hour},
		{400 * model.Day, model.Day}, {1000 * model.Day, 2 * model.Day},
	} {
		got := TimelineStep(c.span, 500)
		if got != c.want || windows(c.span, got) > 500 {
			t.Errorf("TimelineStep(%s) = %s (%d windows), want %s", c.span, got, windows(c.span, got), c.want)
		}
	}
}

// handResult is a run on facility(2) (16 GPUs, static 2×(1000+8×70) W)
// built by hand: a ran 0–120 s on 8 GPUs, was preempted, waited 120–180
// and ran again 180–240; b waited 0–60 and ran 60–180 on 8 GPUs; c
// (submitted at 24) never started; d (submitted at 12, deadline 144, no
// GPUs) ran 228–240. Each busy 8 GPUs draw 8×(560−70) W above idle.
func handResult() *Result {
	a := job("a", "acme", "normal", 1, 8, t0, 150)
	b := job("b", "beta", "normal", 1, 8, t0, 100)
	c := job("c", "beta", "normal", 2, 8, t0+24, 100)
	d := job("d", "acme", "normal", 1, 0, t0+12, 5)
	d.Deadline = t0 + 144
	st := func(a, b model.Time, gpus int, w float64) Stint {
		return Stint{Site: "par", Start: t0 + a, End: t0 + b, GPUs: gpus, BusyW: w}
	}
	return &Result{Start: t0, End: t0 + 240, Jobs: []JobRecord{
		{Job: a, FirstStart: t0, End: t0 + 240, Preemptions: 1, Runs: []Stint{st(0, 120, 8, 3920), st(180, 240, 8, 3920)}},
		{Job: b, FirstStart: t0 + 60, End: t0 + 180, Runs: []Stint{st(60, 180, 8, 3920)}},
		{Job: c},
		{Job: d, FirstStart: t0 + 228, End: t0 + 240, Runs: []Stint{st(228, 240, 0, 0)}},
	}}
}

func TestHandMetrics(t *testing.T) {
	fac := facility(2)
	fac.Tenants[1].FairShareWeight = 3
	r := handResult()
	tl := NewTimeline(fac, r, 4) // step 60: windows at 0, 60, 120, 180
	want := Timeline{Start: t0.String(), StartUnix: int64(t0), StepSeconds: 60, Points: 4,
		Utilization: []float64{0.5, 1, 0.5, 0.5},
		// at 0: b; at 60: c, d; at 120: a, c, d; at 180: c, d
		Queue:       []int{1, 2, 3, 2},
		SitePowerKW: map[string][]float64{"par": {7.04, 10.96, 7.04, 7.04}}}
	if d := cmp.Diff(want, tl); d != "" {
		t.Errorf("timeline (-want +got):\n%s", d)
	}
	if got := MeanUtilization(fac, r); got != 0.625 {
		t.Errorf("mean utilization %g, want 0.625", got)
	}
	// a: 240/150; b: 180/100; d: 228/max(5, 10)
	if d := cmp.Diff([]float64{1.6, 1.8, 22.8}, BoundedSlowdowns(r, SlowdownThreshold)); d != "" {
		t.Errorf("bounded slowdowns (-want +got):\n%s", d)
	}
	if n, missed := DeadlineMisses(r); n != 1 || missed != 1 {
		t.Errorf("deadline misses %d of %d, want 1 of 1", missed, n)
	}
	shares, jain := Fairness(fac, r)
	// acme: 8×180 GPU-s, weight 1; beta: 8×120, weight 3.
	wantShares := map[string]TenantShare{
		"acme": {Weight: 1, GPUHours: 1440.0 / 3600, Share: 0.6, Entitlement: 0.25, Ratio: 2.4},
		"beta": {Weight: 3, GPUHours: 960.0 / 3600, Share: 0.4, Entitlement: 0.75, Ratio: 0.4 / 0.75},
	}
	if d := cmp.Diff(wantShares, shares, cmp.Comparer(near)); d != "" {
		t.Errorf("shares (-want +got):\n%s", d)
	}
	x, y := 2.4, 0.4/0.75
	if wantJ := (x + y) * (x + y) / (2 * (x*x + y*y)); !near(jain, wantJ) {
		t.Errorf("Jain %g, want %g", jain, wantJ)
	}
	s := Summarize(fac, r)
	if s.DeadlineMisses != 1 || s.JainIndex != round(jain) || s.Tenants["beta"].Jobs != 2 ||
		s.Tenants["beta"].Wait.Mean != 60 || s.UtilizationMean != 0.625 {
		t.Errorf("summary %+v", s)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// TestMetricsOnRuns checks the metrics of real runs against the ledger
// and against naive recomputations.
func TestMetricsOnRuns(t *testing.T) {
	for seed := int64(1); seed <= 4; seed++ {
		fac := workload.GenerateFacility(workload.FacilityConfig{Nodes: 30, Sites: 2, Tenants: 5, Cohorts: 2, Seed: seed})
		r, err := Run(Config{Facility: fac, Jobs: workload.Generate(fac, 250, seed, t0)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		s := Summarize(fac, r)
		for id, p := range SitePower(fac, r) {
			// the power rebuilt from the stints peaks where the ledger measured
			if led := r.Sites[id].MaxITW; math.Abs(p.Peak()-led) > 1e-6*led {
				t.Errorf("seed %d site %s: power series peaks at %.6f W, the ledger measured %.6f W", seed, id, p.Peak(), led)
			}
			if got := maxOf(s.Timeline.SitePowerKW[id]); got != s.Sites[id].MaxITkW {
				t.Errorf("seed %d site %s: timeline peaks at %g kW, summary says %g", seed, id, got, s.Sites[id].MaxITkW)
			}
		}
		tl := s.Timeline
		step := model.Time(tl.StepSeconds)
		delivered := 0.0
		for k := range tl.Points {
			at := r.Start + model.Time(k)*step
			delivered += tl.Utilization[k] * float64(min(r.End, at+step)-at) * float64(totalGPUs(fac))
			if want := naiveQueue(r, at); tl.Queue[k] != want {
				t.Fatalf("seed %d: queue at %s is %d, a naive count says %d", seed, at, tl.Queue[k], want)
			}
		}
		if want := DeliveredGPUSeconds(r); math.Abs(delivered-want) > 1e-4*want {
			t.Errorf("seed %d: utilization series integrates to %.0f GPU-s, jobs held %.0f", seed, delivered, want)
		}
		if tl.Points == 0 || tl.Points > MaxTimelinePoints {
			t.Errorf("seed %d: %d points", seed, tl.Points)
		}
	}
}

// naiveQueue counts the jobs submitted by at, not finished and not
// running at at.
func naiveQueue(r *Result, at model.Time) int {
	n := 0
	for _, j := range r.Jobs {
		if j.Job.SubmitTime > at || j.End > 0 && j.End <= at {
			continue
		}
		running := false
		for _, s := range j.Runs {
			running = running || s.Start <= at && at < s.End
		}
		if !running {
			n++
		}
	}
	return n
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

func TestJobsCSV(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJobsCSV(&b, handResult()); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 {
		t.Fatalf("%d rows, want a header and 4", len(rows))
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, c := range []struct {
		row        int
		name, want string
	}{
		{1, "sites", "par"}, {1, "gpu_hours", "0.400000"}, {1, "wait_s", "0"}, {3, "sites", ""}, {3, "wait_s", ""},
		{4, "deadline", (t0 + 144).String()}, {4, "missed_deadline", "true"}, {1, "missed_deadline", ""},
	} {
		if got := rows[c.row][col[c.name]]; got != c.want {
			t.Errorf("row %d %s = %q, want %q", c.row, c.name, got, c.want)
		}
	}
}

// A column of jobs.csv adds up to the jobs' total within the rounding of
// its rows, even for short jobs' small costs.
func TestJobsCSVColumnsAddUp(t *testing.T) {
	res := handResult()
	var want float64
	for i := range res.Jobs {
		res.Jobs[i].Energy.CostEUR = 0.00043 * float64(i+1) // a 10-minute GPU's order
		want += res.Jobs[i].Energy.CostEUR
	}
	var b bytes.Buffer
	if err := WriteJobsCSV(&b, res); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var got float64
	for _, row := range rows[1:] {
		v, err := strconv.ParseFloat(row[11], 64) // cost_eur
		if err != nil {
			t.Fatal(err)
		}
		got += v
	}
	if math.Abs(got-want) > 5e-7*float64(len(res.Jobs)) {
		t.Errorf("cost_eur adds up to %v, the jobs' cost is %v", got, want)
	}
}

// TestJobsCSVEnergyAddsUpToSummary: every energy column of jobs.csv
// (kWh, EUR, kg), added up over a tenant's rows, is within 5e-7 of its
// unit per row of the tenant's total in summary.json, and over all rows
// of the sites' jobs energy (docs/twin.md, Conventions). Rounded to 6
// decimals of MWh and of tCO2e, the totals were 1 kWh/1000 and 1 g
// coarse: the bundled run's tenants differed from their rows by up to
// 4.8e-4 kWh over 29 rows (bound 1.5e-5).
func TestJobsCSVEnergyAddsUpToSummary(t *testing.T) {
	fac := facility(2)
	res := handResult()
	res.Sites = map[string]SiteEnergy{"par": {}}
	res.Tenants = map[string]Energy{}
	for i := range res.Jobs {
		f := float64(i + 1)
		e := Energy{ITkWh: 0.0004321 * f, FacilitykWh: 0.00051852 * f, CostEUR: 0.0000431 * f, CarbonKg: 0.0003217 * f}
		res.Jobs[i].Energy = e
		site := res.Sites["par"]
		site.Jobs.add(e)
		site.All.add(e)
		res.Sites["par"] = site
		te := res.Tenants[res.Jobs[i].Job.Tenant]
		te.add(e)
		res.Tenants[res.Jobs[i].Job.Tenant] = te
	}
	s := Summarize(fac, res)
	var b bytes.Buffer
	if err := WriteJobsCSV(&b, res); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	// each column with its total in summary.json, in the column's unit
	totals := func(e EnergyJSON) map[string]float64 {
		return map[string]float64{"it_kwh": e.ITMWh * 1000, "facility_kwh": e.FacilityMWh * 1000,
			"cost_eur": e.CostEUR, "carbon_kg": e.CarbonT * 1000}
	}
	check := func(what string, want map[string]float64, keep func(row []string) bool) {
		n := 0
		got := map[string]float64{}
		for _, row := range rows[1:] {
			if !keep(row) {
				continue
			}
			n++
			for c := range want {
				v, err := strconv.ParseFloat(row[col[c]], 64)
				if err != nil {
					t.Fatal(err)
				}
				got[c] += v
			}
		}
		for c, w := range want {
			// each row's rounding, and the total's
			if bound := 5e-7*float64(n+1) + 1e-12; math.Abs(got[c]-w) > bound {
				t.Errorf("%s: %s adds up to %.9g over %d rows, summary.json says %.9g (off by %.2g, more than %.2g)",
					what, c, got[c], n, w, math.Abs(got[c]-w), bound)
			}
		}
	}
	for name, ts := range s.Tenants {
		check("tenant "+name, totals(ts.EnergyJSON), func(row []string) bool { return row[col["tenant"]] == name })
	}
	check("sites' jobs", totals(s.Sites["par"].Jobs), func([]string) bool { return true })
}
