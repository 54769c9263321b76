package sim

import (
	"os"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/trace"
	"github.com/carnot-dc/carnot/internal/workload"
)

// phillyInput loads the full shared Philly trace at Helios sizes ×scale;
// benchmarks that need it are skipped when the shared data is absent.
func phillyInput(b *testing.B, scale float64) (*model.Facility, []*model.Job) {
	b.Helper()
	dir := "../../../shared/data/traces/"
	if _, err := os.Stat(dir + "philly-vc-nodes.csv"); err != nil {
		b.Skipf("shared traces absent: %v", err)
	}
	vcs, err := trace.LoadVCNodes(dir + "philly-vc-nodes.csv")
	if err != nil {
		b.Fatal(err)
	}
	fac := trace.HeliosFacility(vcs, scale, trace.FacilityOptions{})
	jobs, err := trace.LoadPhilly(dir+"philly-2017-09-04_to_2017-10-31.csv", trace.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return fac, trace.KnownTenants(fac, jobs)
}

// BenchmarkPhilly replays the Sep–Oct Philly file (52,841 jobs with a
// VC size) at Helios sizes: the "≤ 2 s" figure.
func BenchmarkPhilly(b *testing.B) {
	fac, jobs := phillyInput(b, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Run(Config{Facility: fac, Jobs: jobs}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// benchGenerated replays n generated jobs on the benchmark facility
// (10,000 nodes × 8 GPUs, 200 tenants).
func benchGenerated(b *testing.B, n int) {
	fac := workload.GenerateFacility(workload.DefaultFacilityConfig())
	jobs := workload.Generate(fac, n, 1, t0)
	b.ReportAllocs()
	for b.Loop() {
		for _, j := range jobs { // Run does not change jobs; keep them as generated
			_ = j
		}
		res, err := Run(Config{Facility: fac, Jobs: jobs}, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Passes), "passes")
	}
}

func BenchmarkGenerated3k(b *testing.B) { benchGenerated(b, 3000) }

// BenchmarkGenerated30k is the same with ten times the jobs (minutes).
func BenchmarkGenerated30k(b *testing.B) { benchGenerated(b, 30_000) }

// BenchmarkGenerated30kDepth100 is BenchmarkGenerated30k with quick
// passes of depth 100 between full passes at most 5 minutes apart.
func BenchmarkGenerated30kDepth100(b *testing.B) {
	fac := workload.GenerateFacility(workload.DefaultFacilityConfig())
	jobs := workload.Generate(fac, 30_000, 1, t0)
	b.ReportAllocs()
	for b.Loop() {
		res, err := Run(Config{Facility: fac, Jobs: jobs, PassDepth: 100}, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Passes), "passes")
	}
}
