package sim

import (
	"os"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/trace"
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
