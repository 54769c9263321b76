package sim

import (
	"cmp"
	"os"
	"runtime/metrics"
	"slices"
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
// (10,000 nodes × 8 GPUs, 200 tenants), with quick passes of the given
// depth between full passes (0: every pass a full one). Besides time and
// allocations it reports the passes, jobs/pass (the jobs the core
// considered, on average) and peak-MiB, the most memory the Go runtime
// held from the operating system during the replay (sampled every 1,000
// instants; the jobs and facility included).
func benchGenerated(b *testing.B, n, depth int) {
	fac := workload.GenerateFacility(workload.DefaultFacilityConfig())
	benchJobs(b, fac, workload.Generate(fac, n, 1, t0), depth)
}

// benchJobs replays jobs on fac as benchGenerated describes.
func benchJobs(b *testing.B, fac *model.Facility, jobs []*model.Job, depth int) {
	benchJobsEvery(b, fac, jobs, depth, 0)
}

// benchJobsEvery is benchJobs with Config.PassEvery.
func benchJobsEvery(b *testing.B, fac *model.Facility, jobs []*model.Job, depth int, every model.Duration) {
	b.ReportAllocs()
	for b.Loop() {
		peak, walked := uint64(0), 0
		sample := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
		res, err := Run(Config{Facility: fac, Jobs: jobs, PassDepth: depth, PassEvery: every, ProgressEvery: 1000,
			OnProgress: func(model.Time, int, int) {
				metrics.Read(sample)
				peak = max(peak, sample[0].Value.Uint64())
			},
			OnPass: func(snap *model.Snapshot, _ *model.Plan) { walked += len(snap.Pending) }}, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Passes), "passes")
		b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
		b.ReportMetric(float64(walked)/float64(max(res.Passes, 1)), "jobs/pass")
	}
}

func BenchmarkGenerated3k(b *testing.B)   { benchGenerated(b, 3000, 0) }
func BenchmarkGenerated10k(b *testing.B)  { benchGenerated(b, 10_000, 0) }
func BenchmarkGenerated30k(b *testing.B)  { benchGenerated(b, 30_000, 0) }
func BenchmarkGenerated100k(b *testing.B) { benchGenerated(b, 100_000, 0) }

// BenchmarkGenerated1M is the target workload: a million jobs
// (hours today; see docs/benchmarks.md).
func BenchmarkGenerated1M(b *testing.B) { benchGenerated(b, 1_000_000, 0) }

// The same with quick passes of depth 100 between full passes at most
// 5 minutes apart (Config.PassDepth).
func BenchmarkGenerated30kDepth100(b *testing.B)  { benchGenerated(b, 30_000, 100) }
func BenchmarkGenerated100kDepth100(b *testing.B) { benchGenerated(b, 100_000, 100) }
func BenchmarkGenerated1MDepth100(b *testing.B)   { benchGenerated(b, 1_000_000, 100) }

// BenchmarkGenerated1MFirst250kDepth100 replays the first 250,000 jobs
// (by submit time) of the million-job workload: the same arrival rate
// and job mix, a quarter of its span, in minutes instead of half an hour.
func BenchmarkGenerated1MFirst250kDepth100(b *testing.B) { benchQuarter(b, 0) }

// BenchmarkGenerated1MLast250kDepth100 replays its last 250,000 jobs,
// from an empty cluster: not the state the whole replay reaches there,
// but the jobs and arrivals of the part the first quarter does not show.
func BenchmarkGenerated1MLast250kDepth100(b *testing.B) { benchQuarter(b, 3) }

// BenchmarkGenerated1MSlice750kDepth100 replays jobs 750,000–800,000 of
// the million-job workload, from an empty cluster: half a minute, for
// comparing two builds side by side (benchmarks.md, seventh round).
func BenchmarkGenerated1MSlice750kDepth100(b *testing.B) { benchSlice(b, 750_000, 800_000) }

// BenchmarkGenerated1MSlice400kDepth100 is the same for jobs
// 400,000–450,000, a stretch nearer the replay's steady state (eighth
// round).
func BenchmarkGenerated1MSlice400kDepth100(b *testing.B) { benchSlice(b, 400_000, 450_000) }

// BenchmarkGenerated1MSlice400kPassEvery1m and …5m replay the same jobs
// with passes at least 1 and 5 minutes of virtual time apart
// (Config.PassEvery, twelfth round).
func BenchmarkGenerated1MSlice400kPassEvery1m(b *testing.B) {
	benchSliceEvery(b, 400_000, 450_000, model.Minute)
}
func BenchmarkGenerated1MSlice400kPassEvery5m(b *testing.B) {
	benchSliceEvery(b, 400_000, 450_000, 5*model.Minute)
}

// BenchmarkGenerated1MPassEvery5m is BenchmarkGenerated1MDepth100 with
// passes at least 5 minutes apart.
func BenchmarkGenerated1MPassEvery5m(b *testing.B) { benchSliceEvery(b, 0, 1_000_000, 5*model.Minute) }

// benchQuarter replays quarter k (0–3, by submit time) of the million
// generated jobs with quick passes of depth 100.
func benchQuarter(b *testing.B, k int) { benchSlice(b, k*250_000, (k+1)*250_000) }

// benchSlice replays jobs [from, to) (by submit time) of the million
// generated jobs with quick passes of depth 100.
func benchSlice(b *testing.B, from, to int) { benchSliceEvery(b, from, to, 0) }

// benchSliceEvery is benchSlice with Config.PassEvery.
func benchSliceEvery(b *testing.B, from, to int, every model.Duration) {
	fac := workload.GenerateFacility(workload.DefaultFacilityConfig())
	jobs := workload.Generate(fac, 1_000_000, 1, t0)
	if !slices.IsSortedFunc(jobs, func(x, y *model.Job) int { return cmp.Compare(x.SubmitTime, y.SubmitTime) }) {
		b.Fatal("generated jobs are not in submit order")
	}
	benchJobsEvery(b, fac, jobs[from:to], 100, every)
}
