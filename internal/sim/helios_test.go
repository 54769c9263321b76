package sim

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/trace"
)

// The validation against the published record (docs/validation.md):
// the Philly trace replayed the way the Helios study did (Hu et al.,
// SC'21: each VC its own cluster of 8-GPU nodes, non-preemptive,
// consolidated placement) under FIFO and a shortest-job-first oracle, at
// ×1, ×0.5 and ×0.25 VC sizes.

// heliosVCNodes is philly-vc-nodes.csv of the shared data: the node
// count of each Philly VC in the Helios artifact (framework/QSSF
// Service/data/philly_vc.csv, MIT licence). The light test needs it
// without the shared data; the heavy one checks that the two agree.
var heliosVCNodes = map[string]int{
	"6214e9": 64, "7f04ca": 32, "11cb48": 16, "b436b2": 64, "ee9e8c": 64, "e13805": 16,
	"6c71a0": 32, "2869ce": 16, "ed69ec": 8, "103959": 8, "0e4a51": 32,
}

// heliosPolicy is one scheduler of the matrix.
type heliosPolicy struct {
	name string
	set  func(p *model.Policy)
}

// heliosPolicies are the schedulers of the matrix, on top of
// trace.HeliosFacility's policy (no fair share, quotas, preemption,
// deferral or capping). "Greedy" is backfill without a reservation: any
// job that fits starts. "Strict" is backfill off: a VC's first blocked
// job blocks every later one, which is what the Helios simulator's FIFO,
// SJF and QSSF do (they stop at the first job that does not fit).
var heliosPolicies = []heliosPolicy{
	{"fifo-greedy", func(p *model.Policy) { p.Order, p.Backfill, p.NoReservation = model.OrderFIFO, true, true }},
	{"fifo-strict", func(p *model.Policy) { p.Order, p.Backfill = model.OrderFIFO, false }},
	{"sjf-greedy", func(p *model.Policy) { p.Order, p.Backfill, p.NoReservation = model.OrderShortestFirst, true, true }},
	{"sjf-strict", func(p *model.Policy) { p.Order, p.Backfill = model.OrderShortestFirst, false }},
}

// heliosScales are the VC sizes of the matrix, as multiples of the
// Helios sizes, largest first.
var heliosScales = []float64{1, 0.5, 0.25}

// fullScales are the scales of the heavy part: heliosScales, or those of
// CARNOT_HELIOS_SCALES (comma-separated, e.g. "0.35,0.3"), sorted largest
// first.
func fullScales(t *testing.T) []float64 {
	env := os.Getenv("CARNOT_HELIOS_SCALES")
	if env == "" {
		return heliosScales
	}
	var out []float64
	for _, f := range strings.Split(env, ",") {
		x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || !(x > 0) {
			t.Fatalf("CARNOT_HELIOS_SCALES: %q is not a positive number", f)
		}
		out = append(out, x)
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out
}

// heliosRun is one cell of the matrix.
type heliosRun struct {
	policy string
	scale  float64
	sum    Summary
	wall   time.Duration
}

// runHelios replays jobs on the Helios facility of vcs at scale under
// policy hp and checks what holds whatever the numbers: every job
// finishes (the trace is finite, every job fits its VC and nothing is
// preempted).
func runHelios(t *testing.T, vcs map[string]int, jobs []*model.Job, hp heliosPolicy, scale float64) heliosRun {
	t.Helper()
	fac := trace.HeliosFacility(vcs, scale, trace.FacilityOptions{})
	hp.set(&fac.Policy)
	jobs = trace.KnownTenants(fac, append([]*model.Job(nil), jobs...))
	start := time.Now()
	res, err := Run(Config{Facility: fac, Jobs: jobs}, nil)
	wall := time.Since(start)
	if err != nil {
		t.Fatalf("%s ×%g: %v", hp.name, scale, err)
	}
	s := Summarize(fac, res)
	if s.Finished != len(jobs) || s.NeverStarted != 0 || s.Preemptions != 0 {
		t.Errorf("%s ×%g: %d of %d jobs finished, %d never started, %d preemptions; want all finished, none preempted",
			hp.name, scale, s.Finished, len(jobs), s.NeverStarted, s.Preemptions)
		for _, j := range res.Jobs {
			if j.End == 0 {
				t.Logf("  unfinished %s (%s, %d GPUs, %d s): %s", j.Job.ID, j.Job.Tenant, j.Job.TotalGPUs(), j.Job.RuntimeLimit, j.LastReason)
				break
			}
		}
	}
	return heliosRun{policy: hp.name, scale: scale, sum: s, wall: wall}
}

// checkHelios checks the properties across the matrix: greedy
// shortest-first never has a longer mean JCT than greedy FIFO at the same
// scale, and no policy's mean wait shrinks as the VCs shrink. (Strict
// shortest-first has no such guarantee: a short job too wide for the free
// nodes holds back everything behind it; its figures are only logged.)
func checkHelios(t *testing.T, scales []float64, runs []heliosRun) {
	t.Helper()
	by := map[string]map[float64]Summary{}
	for _, r := range runs {
		if by[r.policy] == nil {
			by[r.policy] = map[float64]Summary{}
		}
		by[r.policy][r.scale] = r.sum
	}
	for _, sc := range scales {
		fifo, ok1 := by["fifo-greedy"][sc]
		sjf, ok2 := by["sjf-greedy"][sc]
		if ok1 && ok2 && sjf.JCT.Mean > fifo.JCT.Mean {
			t.Errorf("×%g: sjf-greedy mean JCT %.0f s > fifo-greedy %.0f s", sc, sjf.JCT.Mean, fifo.JCT.Mean)
		}
	}
	for name, m := range by {
		for i := 1; i < len(scales); i++ {
			big, ok1 := m[scales[i-1]]
			small, ok2 := m[scales[i]]
			if ok1 && ok2 && small.Wait.Mean < big.Wait.Mean {
				t.Errorf("%s: mean wait %.0f s at ×%g < %.0f s at ×%g; waits must grow as VCs shrink",
					name, small.Wait.Mean, scales[i], big.Wait.Mean, scales[i-1])
			}
		}
	}
}

// heliosTable renders the runs as the Markdown table of
// docs/validation.md.
func heliosTable(runs []heliosRun) string {
	var b strings.Builder
	b.WriteString("| VCs | policy | mean JCT s | p50 JCT s | p95 JCT s | mean wait s | p95 wait s | finished | never started | passes | wall |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range runs {
		s := r.sum
		fmt.Fprintf(&b, "| ×%g | %s | %.0f | %.0f | %.0f | %.0f | %.0f | %d | %d | %d | %.1f s |\n", r.scale, r.policy,
			s.JCT.Mean, s.JCT.P50, s.JCT.P95, s.Wait.Mean, s.Wait.P95, s.Finished, s.NeverStarted, s.Passes, r.wall.Seconds())
	}
	return b.String()
}

// heliosRatios renders SJF/FIFO of the mean JCT at each scale.
func heliosRatios(scales []float64, runs []heliosRun) string {
	jct := map[string]float64{}
	for _, r := range runs {
		jct[fmt.Sprintf("%s×%g", r.policy, r.scale)] = r.sum.JCT.Mean
	}
	var b strings.Builder
	for _, sc := range scales {
		for _, kind := range []string{"greedy", "strict"} {
			f, s := jct[fmt.Sprintf("fifo-%s×%g", kind, sc)], jct[fmt.Sprintf("sjf-%s×%g", kind, sc)]
			if f > 0 && s > 0 {
				fmt.Fprintf(&b, "×%g %s: SJF/FIFO mean JCT = %.0f/%.0f = %.3f (Helios, strict: 34272/86072 = 0.398)\n", sc, kind, s, f, s/f)
			}
		}
	}
	return b.String()
}

// heliosVCTable renders each VC's size, jobs and GPU-hours and its
// mean wait in every run with shrunk VCs (at ×1 nothing queues long).
func heliosVCTable(vcs map[string]int, runs []heliosRun) string {
	var cols []heliosRun
	for _, r := range runs {
		if r.scale < 1 {
			cols = append(cols, r)
		}
	}
	if len(cols) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("| VC | nodes ×1 | jobs | GPU-hours |")
	for _, r := range cols {
		fmt.Fprintf(&b, " wait %s ×%g |", r.policy, r.scale)
	}
	b.WriteString("\n|---|---:|---:|---:|" + strings.Repeat("---:|", len(cols)) + "\n")
	for _, vc := range slices.Sorted(maps.Keys(vcs)) {
		ts := cols[0].sum.Tenants[vc]
		fmt.Fprintf(&b, "| %s | %d | %d | %.0f |", vc, vcs[vc], ts.Jobs, ts.GPUHours)
		for _, r := range cols {
			fmt.Fprintf(&b, " %.0f |", r.sum.Tenants[vc].Wait.Mean)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// heliosCell is one (policy, scale) of the matrix.
type heliosCell struct {
	policy heliosPolicy
	scale  float64
}

// heliosMatrix runs the cells in order, logging each as it ends, then
// the tables, and checks the properties.
func heliosMatrix(t *testing.T, what string, scales []float64, vcs map[string]int, jobs []*model.Job, cells []heliosCell) []heliosRun {
	t.Helper()
	var runs []heliosRun
	for _, c := range cells {
		r := runHelios(t, vcs, jobs, c.policy, c.scale)
		if testing.Verbose() {
			t.Logf("%s ×%g: mean JCT %.0f s, mean wait %.0f s, %d passes, %.1f s", c.policy.name, c.scale,
				r.sum.JCT.Mean, r.sum.Wait.Mean, r.sum.Passes, r.wall.Seconds())
		}
		runs = append(runs, r)
	}
	t.Logf("%s:\n%s\n%s\n%s", what, heliosTable(runs), heliosRatios(scales, runs), heliosVCTable(vcs, runs))
	checkHelios(t, scales, runs)
	return runs
}

// checkDeterministic runs cell c again and compares its summary with
// the first run's.
func checkDeterministic(t *testing.T, vcs map[string]int, jobs []*model.Job, c heliosCell, runs []heliosRun) {
	t.Helper()
	for _, r := range runs {
		if r.policy == c.policy.name && r.scale == c.scale {
			again := runHelios(t, vcs, jobs, c.policy, c.scale)
			if d := cmp.Diff(r.sum, again.sum); d != "" {
				t.Errorf("%s ×%g: two runs of the same inputs differ (-first +second):\n%s", r.policy, r.scale, d)
			}
			return
		}
	}
}

// TestHeliosValidation replays the Philly trace under the matrix. The
// light part (always on) replays the 300-row sample of internal/trace;
// the heavy part replays the whole shared Sep–Oct file (about 13 minutes
// on two cores) and runs only with CARNOT_HELIOS=1 and without -short:
//
//	CARNOT_HELIOS=1 go test ./internal/sim -run TestHeliosValidation -v -timeout 60m
//
// CARNOT_HELIOS_ONLY keeps some cells of the heavy part (see
// heliosSelected) and CARNOT_HELIOS_SCALES replaces its scales (see
// fullScales). The figures are in docs/validation.md.
func TestHeliosValidation(t *testing.T) {
	fifoGreedy, fifoStrict, sjfGreedy, sjfStrict := heliosPolicies[0], heliosPolicies[1], heliosPolicies[2], heliosPolicies[3]
	t.Run("sample", func(t *testing.T) {
		jobs, err := trace.LoadPhilly("../trace/testdata/philly-sample.csv", trace.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var cells []heliosCell
		for _, sc := range heliosScales {
			cells = append(cells, heliosCell{fifoGreedy, sc}, heliosCell{sjfGreedy, sc})
		}
		cells = append(cells, heliosCell{fifoStrict, 0.25}, heliosCell{sjfStrict, 0.25})
		runs := heliosMatrix(t, "300-row sample", heliosScales, heliosVCNodes, jobs, cells)
		checkDeterministic(t, heliosVCNodes, jobs, heliosCell{fifoGreedy, 0.25}, runs)
	})
	t.Run("full", func(t *testing.T) {
		if testing.Short() || os.Getenv("CARNOT_HELIOS") != "1" {
			t.Skip("the full Philly replay takes about 13 minutes; run it with CARNOT_HELIOS=1 (and without -short)")
		}
		dir := "../../../shared/data/traces/"
		if _, err := os.Stat(dir + "philly-vc-nodes.csv"); err != nil {
			t.Skipf("shared traces %s absent (%v); check out the shared reference data next to the repository", dir, err)
		}
		vcs, err := trace.LoadVCNodes(dir + "philly-vc-nodes.csv")
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(vcs, heliosVCNodes) {
			t.Fatalf("philly-vc-nodes.csv %v differs from heliosVCNodes %v", vcs, heliosVCNodes)
		}
		jobs, err := trace.LoadPhilly(dir+"philly-2017-09-04_to_2017-10-31.csv", trace.Options{})
		if err != nil {
			t.Fatal(err)
		}
		scales := fullScales(t)
		var cells []heliosCell
		for _, sc := range scales {
			for _, hp := range heliosPolicies {
				if heliosSelected(hp.name, sc) {
					cells = append(cells, heliosCell{hp, sc})
				}
			}
		}
		runs := heliosMatrix(t, "Sep–Oct Philly file", scales, vcs, jobs, cells)
		checkDeterministic(t, vcs, jobs, heliosCell{fifoGreedy, 1}, runs)
	})
}

// heliosSelected reports whether CARNOT_HELIOS_ONLY keeps a cell: a
// comma-separated list of a policy ("fifo-strict"), a scale ("×0.5" or
// "*0.5") or both ("sjf-greedy×0.25"); unset keeps every cell.
func heliosSelected(policy string, scale float64) bool {
	only := os.Getenv("CARNOT_HELIOS_ONLY")
	if only == "" {
		return true
	}
	for _, w := range strings.Split(strings.ReplaceAll(only, "*", "×"), ",") {
		if w == policy || w == fmt.Sprintf("×%g", scale) || w == fmt.Sprintf("%s×%g", policy, scale) {
			return true
		}
	}
	return false
}
