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
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// benchSpec is a job file's JSON form after defaults, as the server stores
// it in Job.Spec.
const benchSpec = `{"name":"llama-70b-finetune-%[1]d","tenant":"acme","kind":"job",` +
	`"priority_class":"standard","replicas":2,"gpus_per_replica":8,"gpu_model":"H200",` +
	`"command":["torchrun","--nnodes=2","--nproc-per-node=8","train.py","--config","configs/70b.yaml"],` +
	`"env":{"NCCL_DEBUG":"WARN","HF_HOME":"/data/hf","WANDB_PROJECT":"finetune"},` +
	`"workdir":"/home/acme/llama","jurisdictions":["eu"],"max_runtime":"48h",` +
	`"restart_policy":{"max_restarts":3,"backoff":"30s"},"checkpoint":{"signal":"SIGUSR1","grace":"120s"},` +
	`"power":{"cap_w":600,"flexible":true},"deadline":"2026-03-20T00:00:00Z"}`

// benchJob is a realistic pending job, about 1 KB stored.
func benchJob(i int64) *api.Job {
	submit := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond)
	return &api.Job{
		ID:            fmt.Sprintf("j-%012d", i),
		Kind:          "job",
		Tenant:        []string{"acme", "beta", "corp"}[i%3],
		PriorityClass: "standard",
		State:         api.StatePending,
		Spec:          json.RawMessage(fmt.Sprintf(benchSpec, i)),
		SubmitTime:    submit,
		Message:       "waiting for quota",
		Reason: &api.Reason{Code: "quota", Message: "quota of tenant acme exhausted, 64/64 H200 in use",
			EstStart: &submit, Pass: submit},
	}
}

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
