package sqlite

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// pause holds the committer before its next batch, which a write it
// starts itself makes, until the returned release is called. Requests
// sent meanwhile wait in the queue and go in the batch after.
func pause(t *testing.T, db *DB) (release func()) {
	t.Helper()
	held, rel := make(chan struct{}), make(chan struct{})
	var once sync.Once
	db.beforeBatch = func() {
		once.Do(func() {
			close(held)
			<-rel
		})
	}
	blocker := make(chan error, 1)
	go func() { blocker <- db.PutNode(context.Background(), &api.Node{Name: "blocker"}) }()
	<-held
	return func() {
		close(rel)
		if err := <-blocker; err != nil {
			t.Errorf("blocker: %v", err)
		}
	}
}

// waitQueued waits until n requests wait for the committer.
func waitQueued(t *testing.T, db *DB, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); len(db.reqs) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests queued after 10s, want %d", len(db.reqs), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestBatchIsolation runs requests that fail and requests that succeed in
// one transaction: each failure is undone alone and answered alone, and
// later requests see the earlier ones' writes.
func TestBatchIsolation(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	x := testJob("x")
	if _, _, err := db.CreateJob(ctx, x, "", submittedEvent(x)); err != nil {
		t.Fatal(err)
	}
	release := pause(t, db)

	type outcome struct {
		id      string
		created bool
		err     error
	}
	create := func(id, key string) func() outcome {
		return func() outcome {
			j := testJob(id)
			id, created, err := db.CreateJob(ctx, j, key, submittedEvent(j))
			return outcome{id, created, err}
		}
	}
	update := func(ids ...string) func() outcome {
		return func() outcome {
			var jobs []*api.Job
			for _, id := range ids {
				j := testJob(id)
				j.State = api.StateRunning
				jobs = append(jobs, j)
			}
			return outcome{err: db.Update(ctx, jobs, []api.Event{{Job: ids[0], Type: api.EventStarted}})}
		}
	}
	steps := []struct {
		call func() outcome
		want outcome
	}{
		{create("a", "ka"), outcome{"a", true, nil}},
		{create("x", ""), outcome{err: store.ErrExists}},
		{create("b", "ka"), outcome{"a", false, nil}}, // sees a, not yet committed
		{update("a", "missing"), outcome{err: store.ErrNotFound}},
		{update("x"), outcome{}},
		{create("c", "kx"), outcome{"c", true, nil}},
	}
	got := make([]outcome, len(steps))
	var wg sync.WaitGroup
	for i, st := range steps {
		wg.Go(func() { got[i] = st.call() })
		waitQueued(t, db, i+1) // in order
	}
	release()
	wg.Wait()
	for i, st := range steps {
		g := got[i]
		if g.id != st.want.id || g.created != st.want.created || !errors.Is(g.err, st.want.err) || (g.err == nil) != (st.want.err == nil) {
			t.Errorf("step %d = %+v, want %+v", i, g, st.want)
		}
	}
	if b, r := db.BatchStats(); b != 3 || r != 8 {
		t.Errorf("BatchStats = %d batches, %d requests; want 3, 8", b, r)
	}
	jobs, _, err := db.Jobs(ctx, store.JobFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, j := range jobs {
		states = append(states, j.ID+" "+j.State)
	}
	if want := []string{"x running", "a pending", "c pending"}; !cmp.Equal(states, want) {
		t.Errorf("jobs = %v, want %v", states, want)
	}
	evs, err := db.Events(ctx, store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ev := range evs {
		types = append(types, ev.Job+" "+ev.Type)
	}
	if want := []string{"x submitted", "a submitted", "x started", "c submitted"}; !cmp.Equal(types, want) {
		t.Errorf("events = %v, want %v", types, want)
	}
}

// TestGroupCommit checks that the requests waiting go in one transaction.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	release := pause(t, db)
	var wg sync.WaitGroup
	for i := range maxBatch {
		wg.Go(func() {
			j := testJob(fmt.Sprintf("g%03d", i))
			if _, _, err := db.CreateJob(ctx, j, "", submittedEvent(j)); err != nil {
				t.Error(err)
			}
		})
	}
	waitQueued(t, db, maxBatch)
	release()
	wg.Wait()
	if b, r := db.BatchStats(); b != 2 || r != maxBatch+1 {
		t.Errorf("BatchStats = %d batches, %d requests; want 2, %d", b, r, maxBatch+1)
	}
}

// TestCancelQueued checks that a call whose context ends while it waits
// for the committer returns the context's error and writes nothing.
func TestCancelQueued(t *testing.T) {
	db := openTest(t)
	release := pause(t, db)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		j := testJob("gone")
		_, _, err := db.CreateJob(ctx, j, "", submittedEvent(j))
		done <- err
	}()
	waitQueued(t, db, 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("CreateJob = %v, want context.Canceled", err)
	}
	release()
	j := testJob("after")
	if _, _, err := db.CreateJob(context.Background(), j, "", submittedEvent(j)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Job(context.Background(), "gone"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Job(gone) = %v, want ErrNotFound", err)
	}
	if b, r := db.BatchStats(); b != 2 || r != 2 {
		t.Errorf("BatchStats = %d batches, %d requests; want 2, 2 (the cancelled call skipped)", b, r)
	}
}
