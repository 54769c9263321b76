package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// openTest opens a store in a new directory and closes it when t ends.
func openTest(t testing.TB) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "carnot.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// testJob is a pending job of tenant acme.
func testJob(id string) *api.Job {
	return &api.Job{ID: id, Kind: "job", Tenant: "acme", PriorityClass: "standard", State: api.StatePending,
		Spec: []byte(`{"name":"` + id + `"}`), SubmitTime: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)}
}

// submittedEvent is j's first event.
func submittedEvent(j *api.Job) *api.Event {
	return &api.Event{Time: j.SubmitTime, Job: j.ID, Tenant: j.Tenant, Type: api.EventSubmitted}
}

func TestPragmas(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	for pragma, want := range map[string]string{
		"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "5000",
	} {
		var got string
		if err := db.conn.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil || got != want {
			t.Errorf("writer: PRAGMA %s = %q, %v; want %q", pragma, got, err, want)
		}
	}
	_, err := db.r.ExecContext(ctx, "INSERT INTO nodes (name, doc) VALUES ('x', '{}')")
	if err == nil {
		t.Error("a reader connection wrote to the database")
	}
}

func TestOpenCreatesDirectories(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state dir #1", "a?b%20c", "db")
	db, err := Open(filepath.Join(dir, "carnot.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	j := testJob("j")
	if _, _, err := db.CreateJob(context.Background(), j, "", submittedEvent(j)); err != nil {
		t.Fatalf("CreateJob: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "carnot.db")); err != nil {
		t.Errorf("database file: %v", err)
	}
	if _, err := Open(""); err == nil {
		t.Error("Open(\"\") succeeded")
	}
}

func TestClosed(t *testing.T) {
	db := openTest(t)
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := db.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
	j := testJob("j")
	if _, _, err := db.CreateJob(context.Background(), j, "", submittedEvent(j)); !errors.Is(err, ErrClosed) {
		t.Errorf("CreateJob after Close = %v, want ErrClosed", err)
	}
	if _, err := db.Job(context.Background(), "j"); !errors.Is(err, ErrClosed) {
		t.Errorf("Job after Close = %v, want ErrClosed", err)
	}
}

func TestUpdateAssignsSeq(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	j := testJob("j")
	if _, _, err := db.CreateJob(ctx, j, "", submittedEvent(j)); err != nil {
		t.Fatal(err)
	}
	evs := []api.Event{{Job: "j", Type: api.EventStarted}, {Node: "n", Type: api.EventNode}}
	if err := db.Update(ctx, nil, evs); err != nil {
		t.Fatal(err)
	}
	got, err := db.Events(ctx, store.EventFilter{After: 1})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(evs, got); diff != "" {
		t.Errorf("Update's events and the stored ones differ (-update +stored):\n%s", diff)
	}
}

// TestColumnsMatchDoc checks that the columns queries filter and sum on
// agree with the job document after every write.
func TestColumnsMatchDoc(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	j := testJob("j")
	if _, _, err := db.CreateJob(ctx, j, "", submittedEvent(j)); err != nil {
		t.Fatal(err)
	}
	check := func() {
		t.Helper()
		var r jobRow
		err := db.r.QueryRowContext(ctx, `SELECT id, tenant, kind, priority_class, state, active, submit_time,
			gpu_seconds, it_kwh, kwh, eur, gco2e, doc FROM jobs WHERE id = 'j'`).Scan(&r.ID, &r.Tenant, &r.Kind,
			&r.Class, &r.State, &r.Active, &r.Submit, &r.Usage.GPUSeconds, &r.Usage.ITKWh, &r.Usage.KWh,
			&r.Usage.EUR, &r.Usage.GCO2e, &r.Doc)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := decodeJob(r.Doc, nil)
		if err != nil {
			t.Fatal(err)
		}
		want, err := encodeJob(doc)
		if err != nil {
			t.Fatal(err)
		}
		want.Doc, want.Spec = r.Doc, nil
		if diff := cmp.Diff(want, r, cmp.AllowUnexported(jobRow{})); diff != "" {
			t.Errorf("columns disagree with the document (-doc +columns):\n%s", diff)
		}
	}
	check()
	j.Tenant, j.Kind, j.PriorityClass, j.State = "beta", "deployment", "high", api.StateFailed
	j.Usage = api.Usage{GPUSeconds: 1.5, ITKWh: 2.5, KWh: 3.5, EUR: 4.5, GCO2e: 5.5}
	if err := db.Update(ctx, []*api.Job{j}, nil); err != nil {
		t.Fatal(err)
	}
	check()
}

func TestStrictCursor(t *testing.T) {
	db := openTest(t)
	for _, after := range []string{"+5", "05", " 5", "5 ", "-1", "1e3", "0x10", "99999999999999999999"} {
		if _, _, err := db.Jobs(context.Background(), store.JobFilter{After: after}); err == nil ||
			!errors.Is(err, store.ErrBadCursor) {
			t.Errorf("Jobs(after %q) = %v, want a malformed-cursor error", after, err)
		}
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	farFuture := testJob("far")
	farFuture.SubmitTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	nan := testJob("nan")
	nan.Usage.EUR = math.NaN()
	for _, j := range []*api.Job{nil, {}, farFuture, nan} {
		if _, _, err := db.CreateJob(ctx, j, "", &api.Event{}); err == nil {
			t.Errorf("CreateJob(%+v) succeeded, want an error", j)
		}
	}
	ok := testJob("ok")
	if _, _, err := db.CreateJob(ctx, ok, "", &api.Event{Time: farFuture.SubmitTime}); err == nil {
		t.Error("CreateJob with an event in year 10000 succeeded")
	}
	if err := db.Update(ctx, []*api.Job{nil}, nil); err == nil {
		t.Error("Update(nil job) succeeded")
	}
	for _, n := range []*api.Node{nil, {}} {
		if err := db.PutNode(ctx, n); err == nil {
			t.Errorf("PutNode(%+v) succeeded", n)
		}
	}
	if jobs, _, err := db.Jobs(ctx, store.JobFilter{}); err != nil || len(jobs) != 0 {
		t.Errorf("Jobs = %d jobs, %v; want none written", len(jobs), err)
	}
}

// TestCorruptData checks that rows the store cannot decode give errors,
// not panics.
func TestCorruptData(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	j := testJob("j")
	if _, _, err := db.CreateJob(ctx, j, "", submittedEvent(j)); err != nil {
		t.Fatal(err)
	}
	if err := db.PutNode(ctx, &api.Node{Name: "n"}); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", dsn(db.path, false))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{
		"UPDATE jobs SET doc = '{\"id\": 12'",
		"UPDATE events SET time = 'yesterday'",
		"UPDATE nodes SET doc = x'00ff'",
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	reads := map[string]func() error{
		"Job":    func() error { _, err := db.Job(ctx, "j"); return err },
		"Jobs":   func() error { _, _, err := db.Jobs(ctx, store.JobFilter{}); return err },
		"Active": func() error { _, err := db.Active(ctx); return err },
		"Events": func() error { _, err := db.Events(ctx, store.EventFilter{}); return err },
		"Nodes":  func() error { _, err := db.Nodes(ctx); return err },
	}
	for name, read := range reads {
		if err := read(); err == nil {
			t.Errorf("%s of corrupt rows succeeded, want an error", name)
		}
	}
}
