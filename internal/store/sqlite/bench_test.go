package sqlite

// The figures, on a 2-vCPU AMD EPYC VM with an ext4 virtual disk, for
//
//	go test -run '^$' -bench . -benchtime 2s -count 3 ./internal/store/sqlite/
//
// BenchmarkCreateJob          720-900 jobs/s    1 job/batch  (1.1-1.4 ms: one fsync a job)
// BenchmarkCreateJobParallel  4600-6100 jobs/s  31-34 jobs/batch (64 goroutines)
//
// Both write ~1 KB jobs (B/job). The serial rate is the disk's fsync rate;
// the parallel one grows with the number of callers waiting while a batch
// commits (about half of them, as the other half wait for its answer).

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/carnot-dc/carnot/internal/store/storetest"
)

// benchJob is the benchmarks' ith job (storetest.BenchJob).
var benchJob = storetest.BenchJob

// reportJobs reports the rate of jobs created and the mean batch size.
func reportJobs(b *testing.B, db *DB, jobs int64) {
	b.ReportMetric(float64(jobs)/b.Elapsed().Seconds(), "jobs/s")
	if batches, requests := db.BatchStats(); batches > 0 {
		b.ReportMetric(float64(requests)/float64(batches), "jobs/batch")
	}
	row, err := encodeJob(benchJob(0))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(row.Doc)+len(row.Spec)), "B/job")
}

// BenchmarkCreateJob creates jobs one after another: one sync each.
func BenchmarkCreateJob(b *testing.B) {
	db := openTest(b)
	ctx := context.Background()
	var n int64
	for b.Loop() {
		j := benchJob(n)
		if _, _, err := db.CreateJob(ctx, j, j.ID, submittedEvent(j)); err != nil {
			b.Fatal(err)
		}
		n++
	}
	reportJobs(b, db, n)
}

// BenchmarkCreateJobParallel creates jobs from 32 goroutines per CPU:
// concurrent submissions share syncs.
func BenchmarkCreateJobParallel(b *testing.B) {
	db := openTest(b)
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			j := benchJob(n.Add(1))
			if _, _, err := db.CreateJob(ctx, j, j.ID, submittedEvent(j)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportJobs(b, db, n.Load())
}
