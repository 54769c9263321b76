package server

// Audit log benchmarks (issue 5: "audit appends >= 2,000 entries/s
// durable on SQLite"). An audit entry is a store event: the server
// commits it in the same transaction as the change it records
// (CreateJob for a submission, Update for a decision or any other
// change), so an entry is durable when that call returns. The Merkle
// tree is built from the events table afterwards, when a checkpoint is
// asked for (auditor.sync), and is measured apart.
//
//	go test -run '^$' -bench 'Audit' -benchtime 3s -count 6 ./internal/server/

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/audit"
	"github.com/carnot-dc/carnot/internal/store/sqlite"
)

// auditBenchStore opens a fresh SQLite store (WAL, synchronous=FULL,
// group commit) in a temporary directory.
func auditBenchStore(b *testing.B) *sqlite.DB {
	b.Helper()
	db, err := sqlite.Open(filepath.Join(b.TempDir(), "carnot.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// auditBenchJob is job i as handleSubmit stores it, with its
// "submitted" event, the audit entry of the submission.
func auditBenchJob(i int64, now time.Time) (*api.Job, api.Event) {
	id := fmt.Sprintf("j-%012d", i)
	tenant := []string{"acme", "globex", "initech"}[i%3]
	doc := &api.Job{ID: id, Kind: "job", Tenant: tenant, PriorityClass: "standard",
		State: api.StatePending, Spec: benchSpec(i), SubmitTime: now,
		Message: "waiting for the next scheduling pass"}
	ev := api.Event{Time: now, Job: id, Tenant: tenant, Type: api.EventSubmitted,
		Message: fmt.Sprintf("1×8 GPUs by %s", tenant), Actor: "token:ci-" + tenant}
	return doc, ev
}

// runWriters calls write(w, i) for i in [0, b.N) from exactly writers
// goroutines (w is the goroutine's number) and reports durable audit entries per second (perOp entries
// each call) and how many calls shared a commit.
func runWriters(b *testing.B, db *sqlite.DB, writers, perOp int, write func(w int, i int64) error) {
	b0, r0 := db.BatchStats()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := range writers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				if err := write(w, i); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N*perOp)/elapsed.Seconds(), "entries/s")
	b1, r1 := db.BatchStats()
	b.ReportMetric(float64(r1-r0)/float64(max(1, b1-b0)), "calls/commit")
}

// BenchmarkAuditAppend measures durable audit entries per second on
// SQLite, appended as the server appends them, from 1 and 64 concurrent
// writers:
//
//   - submit: CreateJob of a ~1 KB job with an idempotency key and its
//     "submitted" event (handleSubmit): one entry a call;
//   - decision: Update of one job and one "started" event (a change the
//     loop or a handler commits): one entry a call;
//   - pass: Update of 32 jobs and their 32 "started" events, one
//     scheduling pass's decisions in one transaction (commitChanges).
func BenchmarkAuditAppend(b *testing.B) {
	now := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	for _, writers := range []int{1, 64} {
		b.Run(fmt.Sprintf("submit/writers=%d", writers), func(b *testing.B) {
			db := auditBenchStore(b)
			ctx := context.Background()
			runWriters(b, db, writers, 1, func(_ int, i int64) error {
				doc, ev := auditBenchJob(i, now)
				_, _, err := db.CreateJob(ctx, doc, doc.ID, &ev)
				return err
			})
		})
	}
	for _, c := range []struct {
		name           string
		writers, batch int
	}{{"decision/writers=1", 1, 1}, {"decision/writers=64", 64, 1}, {"pass/writers=1", 1, 32}} {
		b.Run(c.name, func(b *testing.B) {
			db := auditBenchStore(b)
			ctx := context.Background()
			// Jobs to decide about, created before the clock starts; each
			// writer updates its own (the server never updates one job
			// from two goroutines at once).
			docs := make([]*api.Job, c.writers*c.batch)
			evs := make([]api.Event, len(docs))
			for i := range docs {
				docs[i], evs[i] = auditBenchJob(int64(i), now)
			}
			if err := createJobs(ctx, db, docs, evs); err != nil {
				b.Fatal(err)
			}
			runWriters(b, db, c.writers, c.batch, func(w int, _ int64) error {
				jobs := make([]*api.Job, c.batch)
				events := make([]api.Event, c.batch)
				for k := range jobs {
					d := *docs[w*c.batch+k]
					d.State, d.Message = api.StateRunning, "started on n1"
					jobs[k] = &d
					events[k] = api.Event{Time: now, Job: d.ID, Tenant: d.Tenant, Node: "n1",
						Type: api.EventStarted, Message: "8 GPUs on n1"}
				}
				return db.Update(ctx, jobs, events)
			})
		})
	}
}

// createJobs creates docs with their events, 64 at a time.
func createJobs(ctx context.Context, db *sqlite.DB, docs []*api.Job, evs []api.Event) error {
	var wg sync.WaitGroup
	errs := make([]error, len(docs))
	sem := make(chan struct{}, 64)
	for i := range docs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			_, _, errs[i] = db.CreateJob(ctx, docs[i], "", &evs[i])
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// fillEvents appends n decision events to db, 10,000 a transaction.
func fillEvents(b *testing.B, db *sqlite.DB, from, n int) {
	b.Helper()
	t0 := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	for i := from; i < from+n; {
		evs := make([]api.Event, 0, 10000)
		for ; i < from+n && len(evs) < cap(evs); i++ {
			evs = append(evs, api.Event{Time: t0.Add(time.Duration(i) * time.Millisecond), Job: fmt.Sprintf("j-%012d", i/4),
				Tenant: []string{"acme", "globex", "initech"}[i%3], Node: fmt.Sprintf("n%d", i%64),
				Type: api.EventStarted, Message: "8 GPUs on n1, quota 56/64 H200"})
		}
		if err := db.Update(context.Background(), nil, evs); err != nil {
			b.Fatal(err)
		}
	}
}

func benchSigner(b *testing.B) note.Signer {
	b.Helper()
	skey, _, err := note.GenerateKey(rand.Reader, "carnot-bench")
	if err != nil {
		b.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkAuditSync is the tree's cost per entry: a fresh auditor (as
// after a restart) reads 100,000 events from SQLite and appends them to
// the Merkle tree (canonical encoding, leaf hash, tlog.StoredHashes).
func BenchmarkAuditSync(b *testing.B) {
	const n = 100_000
	db := auditBenchStore(b)
	fillEvents(b, db, 0, n)
	signer := benchSigner(b)
	ctx := context.Background()
	for b.Loop() {
		a, err := newAuditor("carnot audit bench", signer)
		if err != nil {
			b.Fatal(err)
		}
		if err := a.readFrom(db); err != nil { // as the server's
			b.Fatal(err)
		}
		if err := a.sync(ctx, db); err != nil {
			b.Fatal(err)
		}
		if size, _ := a.log.Size(); size != n {
			b.Fatalf("tree size %d, want %d", size, n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/entry")
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkAuditCheckpoint is what a checkpoint costs a server whose log
// holds 100,000 entries and has grown by 1,000 since the last one: the
// sync of the new events into the tree and the Ed25519 signed note (the
// work of GET /v1/audit/checkpoint). The events are committed with the
// clock stopped.
func BenchmarkAuditCheckpoint(b *testing.B) {
	const n, grow = 100_000, 1000
	db := auditBenchStore(b)
	fillEvents(b, db, 0, n)
	a, err := newAuditor("carnot audit bench", benchSigner(b))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := a.sync(ctx, db); err != nil {
		b.Fatal(err)
	}
	next := n
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		fillEvents(b, db, next, grow)
		next += grow
		b.StartTimer()
		if err := a.sync(ctx, db); err != nil {
			b.Fatal(err)
		}
		a.mu.Lock()
		_, err := a.log.Checkpoint(a.signer)
		a.mu.Unlock()
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuditEntriesPage is one page of GET /v1/audit/entries (1,000
// entries of a tenant with their inclusion proofs) in a log of a million
// entries, a third of them that tenant's: the cost stays that of the
// page, however long the log (the list was one answer before, over 5 s).
//
//	go test -run '^$' -bench 'AuditEntriesPage' -benchtime 100x ./internal/server/
func BenchmarkAuditEntriesPage(b *testing.B) {
	const n = 1_000_000
	a, err := newAuditor("carnot audit bench", benchSigner(b))
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	batch := make([]audit.Entry, 0, 1000)
	for i := range n {
		batch = append(batch, audit.Entry{Time: t0.Add(time.Duration(i) * time.Millisecond), Kind: audit.KindAPI,
			Actor: "token:ci/0123456789abcdef", Tenant: []string{"acme", "globex", "initech"}[i%3],
			Job: fmt.Sprintf("j-%012d", i/5), Action: api.EventSubmitted, Detail: "1×8 GPUs"})
		if len(batch) == cap(batch) {
			done, err := a.log.Append(batch...)
			if err != nil {
				b.Fatal(err)
			}
			a.index(done)
			batch = batch[:0]
		}
	}
	b.ResetTimer()
	for i := range b.N {
		seqs, _ := a.page("acme", "", int64(i*3000%(n-3000)), n, maxAuditPage)
		for _, seq := range seqs {
			es, err := a.log.Entries(b.Context(), seq, seq+1)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := a.log.InclusionProof(seq, n); err != nil {
				b.Fatal(err)
			}
			if _, err := es[0].Canonical(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkAuditMemory is the memory the audit log holds per entry once
// synced from 200,000 events: kept in memory ("memory", as the server
// did before) or read back from the events table ("events", as it does
// now); B/entry is the live heap the log adds, after a collection.
//
//	go test -run '^$' -bench 'AuditMemory' -benchtime 1x ./internal/server/
func BenchmarkAuditMemory(b *testing.B) {
	const n = 200_000
	db := auditBenchStore(b)
	fillEvents(b, db, 0, n)
	for _, mode := range []string{"memory", "events"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				before := liveHeap()
				a, err := newAuditor("carnot audit bench", benchSigner(b))
				if err != nil {
					b.Fatal(err)
				}
				if mode == "events" {
					if err := a.readFrom(db); err != nil {
						b.Fatal(err)
					}
				}
				if err := a.sync(context.Background(), db); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(liveHeap()-before)/n, "B/entry")
				runtime.KeepAlive(a)
			}
		})
	}
}

// BenchmarkAuditEntriesPageReadBack is one page of GET /v1/audit/entries
// (1,000 entries of a tenant with their inclusion proofs) in a log of
// 200,000 entries read back from SQLite, a third of them that tenant's.
//
//	go test -run '^$' -bench 'AuditEntriesPageReadBack' -benchtime 20x ./internal/server/
func BenchmarkAuditEntriesPageReadBack(b *testing.B) {
	const n = 200_000
	db := auditBenchStore(b)
	fillEvents(b, db, 0, n)
	a, err := newAuditor("carnot audit bench", benchSigner(b))
	if err != nil {
		b.Fatal(err)
	}
	if err := a.readFrom(db); err != nil {
		b.Fatal(err)
	}
	if err := a.sync(context.Background(), db); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		seqs, _ := a.page("acme", "", int64(i*3000%(n-3000)), n, maxAuditPage)
		es, err := a.entriesAt(b.Context(), seqs)
		if err != nil {
			b.Fatal(err)
		}
		for k, seq := range seqs {
			if _, err := a.log.InclusionProof(seq, n); err != nil {
				b.Fatal(err)
			}
			if _, err := es[k].Canonical(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
