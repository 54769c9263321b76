package sched_test

import (
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
	"github.com/carnot-dc/carnot/internal/workload"
)

// The benchmark state of docs/benchmarks.md: the generated facility of
// 10,000 nodes × 8 GPUs (80,000 GPUs, 4 sites, 200 tenants) and a
// synthetic workload of up to 1,000,000 pending jobs.

const benchStart model.Time = 1767225600 // 2026-01-01T00:00:00Z

var (
	benchOnce sync.Once
	benchFac  *model.Facility
	benchJobs []*model.Job
)

func benchFixture(b *testing.B) (*model.Facility, []*model.Job) {
	benchOnce.Do(func() {
		benchFac = workload.GenerateFacility(workload.DefaultFacilityConfig())
		benchJobs = workload.Generate(benchFac, 1_000_000, 1, benchStart)
		for _, j := range benchJobs {
			j.EarliestStart = 0 // every job is eligible now
		}
	})
	return benchFac, benchJobs
}

// latest is the pass time: every job has been submitted.
func latest(jobs []*model.Job) model.Time {
	var t model.Time
	for _, j := range jobs {
		t = max(t, j.SubmitTime)
	}
	return t
}

// BenchmarkFullPass is one pass over N pending jobs on an empty facility.
func BenchmarkFullPass(b *testing.B) {
	fac, all := benchFixture(b)
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		jobs := all[:n]
		snap := &model.Snapshot{Facility: fac, Pending: jobs, Seed: 1}
		now := latest(jobs)
		b.Run(fmt.Sprintf("pending=%d", n), func(b *testing.B) {
			var starts int
			b.ReportAllocs()
			for b.Loop() {
				p := sched.Schedule(snap, now)
				starts = len(p.Starts)
			}
			b.ReportMetric(float64(starts), "starts/pass")
			b.ReportMetric(float64(starts)*float64(b.N)/b.Elapsed().Seconds(), "placements/s")
			// live heap after the pass, the workload itself included
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
		})
	}
}

// BenchmarkIncrementalPass: the facility is full after a first pass; one
// running job ends; the next pass runs over the remaining pending jobs.
func BenchmarkIncrementalPass(b *testing.B) {
	fac, all := benchFixture(b)
	now := latest(all)
	snap := &model.Snapshot{Facility: fac, Pending: all, Seed: 1}
	first := sched.Schedule(snap, now)
	byID := make(map[string]*model.Job, len(all))
	for _, j := range all {
		byID[j.ID] = j
	}
	started := map[string]bool{}
	var running []model.Allocation
	for _, s := range first.Starts {
		running = append(running, model.Allocation{Job: byID[s.Job], Started: now, Replicas: s.Replicas})
		started[s.Job] = true
	}
	pending := make([]*model.Job, 0, len(all))
	for _, j := range all {
		if !started[j.ID] {
			pending = append(pending, j)
		}
	}
	// the job that ends: the first single-replica start
	end := 0
	for i, a := range running {
		if a.Job.Replicas == 1 && len(a.Replicas[0].GPUs) >= 4 {
			end = i
			break
		}
	}
	running = append(running[:end:end], running[end+1:]...)
	next := &model.Snapshot{Facility: fac, Pending: pending, Running: running, Seed: 1}
	b.Logf("running %d, pending %d", len(running), len(pending))
	b.Run("full", func(b *testing.B) {
		b.ReportAllocs()
		var starts int
		for b.Loop() {
			p := sched.Schedule(next, now+60)
			starts = len(p.Starts)
		}
		b.ReportMetric(float64(starts), "starts/pass")
	})
	// Quick: the driver's queue is kept between passes; the pass walks
	// it to depth 100 (Slurm's default_queue_depth).
	q := sched.NewQueue(fac, pending)
	bare := *next
	bare.Pending = nil
	full := sched.Schedule(next, now+60)
	quick, _ := sched.Quick(&bare, q, now+60, 100)
	if d := cmp.Diff(full.Starts, quick.Starts); d != "" {
		b.Fatalf("the quick pass starts different jobs than the full pass (-full +quick):\n%s", d)
	}
	b.Run("quick-depth=100", func(b *testing.B) {
		b.ReportAllocs()
		var starts int
		for b.Loop() {
			p, _ := sched.Quick(&bare, q, now+60, 100)
			starts = len(p.Starts)
		}
		b.ReportMetric(float64(starts), "starts/pass")
	})
}

// BenchmarkPlacements measures placement throughput: 100,000 pending
// single-replica jobs of 1–8 GPUs (the 80 % class of the synthetic mix)
// with quotas off, so that the pass places until the facility is full.
func BenchmarkPlacements(b *testing.B) {
	fac, all := benchFixture(b)
	open := *fac
	open.Policy.Quotas = false
	var jobs []*model.Job
	for _, j := range all {
		if j.Kind == model.KindJob && j.Replicas == 1 && j.GPUsPerReplica >= 1 && j.GPUsPerReplica <= 8 {
			jobs = append(jobs, j)
			if len(jobs) == 100_000 {
				break
			}
		}
	}
	snap := &model.Snapshot{Facility: &open, Pending: jobs, Seed: 1}
	now := latest(jobs)
	var starts, gpus int
	b.ReportAllocs()
	for b.Loop() {
		p := sched.Schedule(snap, now)
		starts, gpus = len(p.Starts), 0
		for _, s := range p.Starts {
			for _, r := range s.Replicas {
				gpus += len(r.GPUs)
			}
		}
	}
	b.ReportMetric(float64(starts), "starts/pass")
	b.ReportMetric(float64(gpus), "gpus/pass")
	b.ReportMetric(float64(starts)*float64(b.N)/b.Elapsed().Seconds(), "placements/s")
}
