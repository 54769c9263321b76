package postgres

// Run against a local server (see postgres_test.go) with
//
//	CARNOT_TEST_POSTGRES=... go test -run '^$' -bench . -benchtime 2s ./internal/store/postgres/
//
// Both benchmarks write ~1 KB jobs (B/job) with the default
// synchronous_commit (on). The committer runs the calls waiting in one
// transaction of two round trips (their statements pipelined, then
// COMMIT), so concurrent callers share one lock, commit and WAL flush;
// the parallel rate is bound by the database's work per job.

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
	"github.com/carnot-dc/carnot/internal/store/storetest"
)

// benchJob is the benchmarks' ith job (storetest.BenchJob).
var benchJob = storetest.BenchJob

// submittedEvent is the event CreateJob records with j.
func submittedEvent(j *api.Job) *api.Event {
	return &api.Event{Time: j.SubmitTime, Job: j.ID, Tenant: j.Tenant, Type: api.EventSubmitted}
}

// reportJobs reports the rate of jobs created and their stored size.
func reportJobs(b *testing.B, jobs int64) {
	b.ReportMetric(float64(jobs)/b.Elapsed().Seconds(), "jobs/s")
	row, err := encodeJob(benchJob(0))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(row.Doc)+len(row.Spec)), "B/job")
}

// BenchmarkCreateJob creates jobs one after another: one batch, and so
// one commit, each.
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
	reportJobs(b, n)
}

// BenchmarkCreateJobParallel creates jobs from 32 goroutines per CPU,
// whose calls the committer batches.
func BenchmarkCreateJobParallel(b *testing.B) {
	createParallel(b, openTest(b), context.Background())
}

// BenchmarkCreateJobParallelFenced is BenchmarkCreateJobParallel with
// the leader's fencing token on every call, as a leader's API writes.
func BenchmarkCreateJobParallelFenced(b *testing.B) {
	db := openTest(b)
	l, err := db.Campaign(context.Background(), "bench", "https://bench:7461", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	createParallel(b, db, store.WithFence(context.Background(), l.Epoch))
}

// createParallel creates jobs on db with ctx from 32 goroutines per CPU.
func createParallel(b *testing.B, db *DB, ctx context.Context) {
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
	reportJobs(b, n.Load())
	batches, requests, redone := db.BatchStats()
	b.ReportMetric(float64(requests)/float64(max(1, batches)), "writes/commit")
	if redone != 0 {
		b.Errorf("%d batches run again request by request, want 0", redone)
	}
}
