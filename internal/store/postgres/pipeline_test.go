package postgres

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// The conformance suite again, every batch run request by request, each
// in its savepoint: the way a batch runs again when one of its
// statements fails.
func TestConformanceSavepoints(t *testing.T) { conformance(t, true) }

// testJob is a pending job of tenant t.
func testJob(id string) *api.Job {
	return &api.Job{ID: id, Tenant: "t", Kind: "job", PriorityClass: "p", State: api.StatePending,
		SubmitTime: time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)}
}

// create is a CreateJob of a new job id with key, its event's message
// msg; its outcome is "created", "exists", "fenced", "error" or the ID of
// the job that key had created.
func create(id, key, msg string) func(ctx context.Context, db *DB) string {
	return func(ctx context.Context, db *DB) string {
		j := testJob(id)
		ev := &api.Event{Time: j.SubmitTime, Job: id, Tenant: "t", Type: api.EventSubmitted, Message: msg}
		got, created, err := db.CreateJob(ctx, j, key, ev)
		switch {
		case errors.Is(err, store.ErrExists):
			return "exists"
		case errors.Is(err, store.ErrFenced):
			return "fenced"
		case err != nil:
			return "error"
		case created && (got != id || ev.Seq == 0):
			return "created without its ID or Seq"
		case created:
			return "created"
		}
		return got
	}
}

// update is an Update of job id with one event; its outcome is "updated",
// "not found" or "error".
func update(id string) func(ctx context.Context, db *DB) string {
	return func(ctx context.Context, db *DB) string {
		j := testJob(id)
		j.State = api.StateRunning
		evs := []api.Event{{Time: j.SubmitTime, Job: id, Tenant: "t", Type: api.EventStarted}}
		err := db.Update(ctx, []*api.Job{j}, evs)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return "not found"
		case err != nil:
			return "error"
		case evs[0].Seq == 0:
			return "updated without Seq"
		}
		return "updated"
	}
}

// A call is one write of a batch, made with a fenced context or not.
type call struct {
	fence int64 // 0: none
	run   func(ctx context.Context, db *DB) string
	want  string
}

// TestBatchOutcomes runs batches whose requests have every outcome
// CreateJob and Update can have, in one transaction each: every request
// gets its own, those that fail write nothing and nothing else is lost. A
// batch whose requests all succeed, or fail without writing, runs
// pipelined; one with a request that fails having written (a stale
// fencing token, a statement the database rejects, a missing job, a new
// key for a job ID taken) runs again request by request.
func TestBatchOutcomes(t *testing.T) {
	ctx := context.Background()
	// Every batch holds these, besides its own calls.
	common := []call{
		{run: create("a", "k-a", "a"), want: "created"},
		{run: create("b", "", "b"), want: "created"},
		{run: create("c", "k-old", "c"), want: "old"},
		{fence: 1, run: create("f", "k-f", "f"), want: "created"},
		{fence: 1, run: update("old"), want: "updated"},
	}
	var (
		exists       = call{run: create("taken", "", "taken again"), want: "exists"}
		stale        = call{fence: 2, run: create("stale", "k-stale", "stale"), want: "fenced"}
		badStmt      = call{run: create("bad", "k-bad", "bad\xffbyte"), want: "error"} // not UTF-8: PostgreSQL refuses the text
		missing      = call{run: update("missing"), want: "not found"}
		existsNewKey = call{run: create("taken", "k-taken", "taken with a key"), want: "exists"}
	)
	tests := []struct {
		name  string
		calls []call
		redo  bool
	}{
		{"pipelined", []call{exists, {run: update("taken"), want: "updated"}}, false},
		{"stale fence", []call{stale}, true},
		{"statement fails", []call{badStmt}, true},
		{"job missing", []call{missing}, true},
		{"ID taken, new key", []call{existsNewKey}, true},
		{"all", []call{exists, stale, badStmt, missing, existsNewKey}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newSchema(t)
			db, err := Open(ctx, poolURL(u))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if l, err := db.Campaign(ctx, "a", "https://a:7461", time.Minute); err != nil || l.Epoch != 1 {
				t.Fatalf("campaign: %+v, %v; want epoch 1", l, err)
			}
			for _, c := range []call{
				{run: create("old", "k-old", "old"), want: "created"},
				{run: create("taken", "", "taken"), want: "created"},
			} {
				if got := c.run(ctx, db); got != c.want {
					t.Fatalf("setup: %s, want %s", got, c.want)
				}
			}
			_, _, redone0 := db.BatchStats()
			calls := append(append([]call{}, common...), tt.calls...)
			got := inOneBatch(t, db, u, calls)
			var want []string
			for _, c := range calls {
				want = append(want, c.want)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
			if _, _, redone := db.BatchStats(); (redone > redone0) != tt.redo {
				t.Errorf("batches run again: %d, want redo %v", redone-redone0, tt.redo)
			}
			jobs, events := contents(t, db)
			want = []string{"a", "b", "f", "old", "taken"}
			if diff := cmp.Diff(want, jobs); diff != "" {
				t.Errorf("jobs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, events); diff != "" {
				t.Errorf("jobs of the events (-want +got):\n%s", diff)
			}
			// A key whose request failed is not recorded.
			for _, key := range []string{"k-taken", "k-stale", "k-bad"} {
				if got := create("new-"+key, key, "")(ctx, db); got != "created" {
					t.Errorf("a new job with key %s: %s, want created", key, got)
				}
			}
		})
	}
}

// Two calls with one new key in one batch: one creates its job, the
// other gets its ID.
func TestBatchSameKey(t *testing.T) {
	u := newSchema(t)
	db, err := Open(context.Background(), poolURL(u))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	got := inOneBatch(t, db, u, []call{{run: create("x", "k", "x")}, {run: create("y", "k", "y")}})
	sort.Strings(got)
	if got := strings.Join(got, " "); got != "created x" && got != "created y" {
		t.Errorf("outcomes %s, want one created and the other its ID", got)
	}
	if _, _, redone := db.BatchStats(); redone != 0 {
		t.Errorf("%d batches run again, want 0", redone)
	}
}

// A batch after the database closed the committer's connection runs
// again on a new one.
func TestBatchReconnects(t *testing.T) {
	ctx := context.Background()
	u := newSchema(t)
	db, err := Open(ctx, poolURL(u))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if got := create("a", "", "a")(ctx, db); got != "created" {
		t.Fatalf("first job: %s", got)
	}
	pid := db.conn.PgConn().PID() // the committer is idle: its last write is answered
	if _, err := db.pool.Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	if got := create("b", "", "b")(ctx, db); got != "created" {
		t.Errorf("a job after the connection was closed: %s, want created", got)
	}
}

// inOneBatch runs calls at once, in one batch of db's committer (on the
// schema of URL u), and returns their outcomes. A first write waits in
// the committer, on a lock of the nodes table, until every call is queued
// behind it.
func inOneBatch(t *testing.T, db *DB, u string, calls []call) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "BEGIN; LOCK TABLE nodes"); err != nil {
		t.Fatal(err)
	}
	batches, _, _ := db.BatchStats()
	first := make(chan error, 1)
	go func() { first <- db.PutNode(ctx, &api.Node{Name: "n"}) }()
	waitFor(t, "the first write to be taken", func() bool { b, _, _ := db.BatchStats(); return b == batches+1 })
	got := make([]string, len(calls))
	var wg sync.WaitGroup
	for i, c := range calls {
		cctx := ctx
		if c.fence != 0 {
			cctx = store.WithFence(ctx, c.fence)
		}
		wg.Go(func() { got[i] = c.run(cctx, db) })
	}
	waitFor(t, "every call to be queued", func() bool { return len(db.reqs) == len(calls) })
	if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatalf("the first write: %v", err)
	}
	if b, _, _ := db.BatchStats(); b != batches+2 {
		t.Fatalf("%d batches, want 2", b-batches)
	}
	return got
}

// waitFor waits until cond holds, or fails t after a while.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// contents returns the IDs of db's jobs and of the jobs its events are
// about, sorted, each once.
func contents(t *testing.T, db *DB) (jobs, events []string) {
	t.Helper()
	ctx := context.Background()
	js, _, err := db.Jobs(ctx, store.JobFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range js {
		jobs = append(jobs, j.ID)
	}
	evs, err := db.Events(ctx, store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		events = append(events, e.Job)
	}
	sort.Strings(jobs)
	sort.Strings(events)
	return jobs, slices.Compact(events)
}
