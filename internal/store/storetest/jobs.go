package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// fullJob is a job with every field set, its times in a zone other than
// UTC and its spec in a form encoding/json would rewrite.
func fullJob(id string) *api.Job {
	cest := time.FixedZone("CEST", 2*3600)
	return &api.Job{
		ID:             id,
		Kind:           "deployment",
		Tenant:         "acme",
		PriorityClass:  "high",
		State:          api.StateRunning,
		Spec:           json.RawMessage(`{ "name": "train <7b>",  "command": ["torchrun", "--nproc=8"], "gpus": 8 }`),
		SubmitTime:     at(0),
		StartTime:      ptr(at(90 * time.Second).In(cest)),
		EndTime:        ptr(at(time.Hour + time.Nanosecond)),
		LastCheckpoint: ptr(at(30*time.Minute + 7*time.Nanosecond).In(cest)),
		Attempt:        3,
		Restarts:       1,
		Preemptions:    1,
		ExitCode:       ptr(137),
		Message:        "running on 2 nodes",
		Reason: &api.Reason{
			Code: "quota", Message: "quota of tenant acme exhausted, 64/64 H200 in use",
			EstStart: ptr(at(30 * time.Minute)), Pass: at(time.Second).In(cest),
		},
		Replicas: []api.Replica{
			{Index: 0, Node: "n1", GPUs: []int{0, 1, 2, 3}, PowerCapW: 500, State: api.ReplicaRunning, PID: 4242,
				StartedAt: ptr(at(91 * time.Second))},
			{Index: 1, Node: "n2", GPUs: []int{4, 5, 6, 7}, State: api.ReplicaExited, ExitCode: ptr(0),
				Signal: "killed", StartedAt: ptr(at(92 * time.Second)), EndedAt: ptr(at(time.Hour)), Error: "oom"},
		},
		Usage: api.Usage{GPUSeconds: 28800.5, ITKWh: 5.75, KWh: 6.9, EUR: 1.25, GCO2e: 812.125, UnpricedKWh: 0.5},
	}
}

func testRoundTrip(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	s := fresh(t, newDB)
	for _, j := range []*api.Job{fullJob("full"), {ID: "bare", SubmitTime: time.Time{}}} {
		want := clone(t, j)
		id, created, err := s.CreateJob(ctx, j, "", submitted(j))
		if err != nil || !created || id != j.ID {
			t.Fatalf("CreateJob(%s) = %q, %v, %v", j.ID, id, created, err)
		}
		if diff := cmp.Diff(want, j); diff != "" {
			t.Errorf("CreateJob changed its argument (-before +after):\n%s", diff)
		}
		got, err := s.Job(ctx, j.ID)
		if err != nil {
			t.Fatalf("Job(%s): %v", j.ID, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Job(%s) (-want +got):\n%s", j.ID, diff)
		}
	}
	jobs, next, err := s.Jobs(ctx, store.JobFilter{})
	if err != nil || next != "" {
		t.Fatalf("Jobs = next %q, %v", next, err)
	}
	if diff := cmp.Diff([]*api.Job{fullJob("full"), {ID: "bare"}}, jobs); diff != "" {
		t.Errorf("Jobs (-want +got):\n%s", diff)
	}
}

func testCreateRecordsEvent(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	s := fresh(t, newDB)
	a, b := newJob("a", "acme", 0), newJob("b", "acme", 1)
	create(t, s, a)
	create(t, s, b)
	// Neither a duplicate nor a replayed key records an event.
	if _, _, err := s.CreateJob(ctx, newJob("a", "other", 2), "", submitted(a)); !errors.Is(err, store.ErrExists) {
		t.Fatalf("CreateJob(duplicate) = %v, want ErrExists", err)
	}
	c := newJob("c", "acme", 3)
	for range 2 {
		if _, _, err := s.CreateJob(ctx, c, "key-c", submitted(c)); err != nil {
			t.Fatalf("CreateJob(c): %v", err)
		}
	}
	got := allEvents(t, s)
	want := []api.Event{*submitted(a), *submitted(b), *submitted(c)}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(api.Event{}, "Seq")); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	checkSeqs(t, got)
	one, err := s.Events(ctx, store.EventFilter{Job: "b"})
	if err != nil || len(one) != 1 || one[0].Job != "b" {
		t.Errorf("Events(job b) = %+v, %v; want b's submitted event", one, err)
	}
	// The caller's event learns its Seq.
	d := newJob("d", "acme", 4)
	ev := submitted(d)
	if _, created, err := s.CreateJob(ctx, d, "", ev); err != nil || !created {
		t.Fatalf("CreateJob(d) = %v, %v", created, err)
	}
	if evs := allEvents(t, s); ev.Seq == 0 || evs[len(evs)-1].Seq != ev.Seq {
		t.Errorf("CreateJob left ev.Seq = %d; the store gave it %d", ev.Seq, evs[len(evs)-1].Seq)
	}
}

// checkSeqs fails unless evs have positive, increasing Seqs.
func checkSeqs(t *testing.T, evs []api.Event) {
	t.Helper()
	var last int64
	for _, ev := range evs {
		if ev.Seq <= last {
			t.Errorf("event %+v: Seq %d after %d, want increasing", ev, ev.Seq, last)
		}
		last = ev.Seq
	}
}

func testIdempotency(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	s := fresh(t, newDB)
	steps := []struct {
		job, tenant, key string
		wantID           string
		wantCreated      bool
	}{
		{"j1", "acme", "k", "j1", true},
		{"j2", "acme", "k", "j1", false}, // the key names j1
		{"j1", "acme", "k", "j1", false}, // a retry of the first call
		{"j3", "other", "k", "j3", true}, // keys are per tenant
		{"j4", "acme", "", "j4", true},   // no key, no deduplication
		{"j5", "acme", "", "j5", true},
		{"j6", "acme", "k2", "j6", true},
		{"j7", "other", "k2", "j7", true},
	}
	for _, st := range steps {
		j := newJob(st.job, st.tenant, 0)
		id, created, err := s.CreateJob(ctx, j, st.key, submitted(j))
		if err != nil || id != st.wantID || created != st.wantCreated {
			t.Errorf("CreateJob(%s, tenant %s, key %q) = %q, %v, %v; want %q, %v, nil",
				st.job, st.tenant, st.key, id, created, err, st.wantID, st.wantCreated)
		}
	}
	if _, err := s.Job(ctx, "j2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Job(j2) = %v, want ErrNotFound: a replayed key creates nothing", err)
	}
	if got := ids(allJobs(t, s, store.JobFilter{})); !cmp.Equal(got, []string{"j1", "j3", "j4", "j5", "j6", "j7"}) {
		t.Errorf("jobs = %v", got)
	}
	if n := len(allEvents(t, s)); n != 6 {
		t.Errorf("%d events, want 6", n)
	}
	// KeyedJob reads what a key names, creating nothing.
	for _, c := range []struct{ tenant, key, want string }{
		{"acme", "k", "j1"}, {"other", "k", "j3"}, {"acme", "k2", "j6"}, {"other", "k2", "j7"},
		{"acme", "k3", ""}, {"nobody", "k", ""}, {"acme", "", ""}, {"acme", "k\x00", ""},
	} {
		id, err := s.KeyedJob(ctx, c.tenant, c.key)
		if c.want == "" && !errors.Is(err, store.ErrNotFound) || c.want != "" && (err != nil || id != c.want) {
			t.Errorf("KeyedJob(%s, %q) = %q, %v; want %q", c.tenant, c.key, id, err, c.want)
		}
	}
}

func testIdempotencyConcurrent(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	s := fresh(t, newDB)
	const n = 64
	type result struct {
		id      string
		created bool
		err     error
	}
	results := make([]result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			j := newJob(fmt.Sprintf("c%02d", i), "acme", i)
			<-start
			id, created, err := s.CreateJob(ctx, j, "same-key", submitted(j))
			results[i] = result{id, created, err}
		})
	}
	close(start)
	wg.Wait()
	var winners []string
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("CreateJob(c%02d): %v", i, r.err)
		}
		if r.created {
			winners = append(winners, r.id)
		}
	}
	if len(winners) != 1 {
		t.Fatalf("%d calls created a job (%v), want exactly 1", len(winners), winners)
	}
	for i, r := range results {
		if r.id != winners[0] {
			t.Errorf("CreateJob(c%02d) = %q, want %q", i, r.id, winners[0])
		}
	}
	if got := ids(allJobs(t, s, store.JobFilter{})); !cmp.Equal(got, winners) {
		t.Errorf("jobs = %v, want %v", got, winners)
	}
	if evs := allEvents(t, s); len(evs) != 1 || evs[0].Job != winners[0] {
		t.Errorf("events = %+v, want the one submitted event of %s", evs, winners[0])
	}
}

func testDuplicateID(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	s := fresh(t, newDB)
	orig := newJob("d", "acme", 0)
	create(t, s, orig)
	for _, key := range []string{"", "fresh-key"} {
		dup := newJob("d", "other", 1)
		id, created, err := s.CreateJob(ctx, dup, key, submitted(dup))
		if !errors.Is(err, store.ErrExists) || created {
			t.Errorf("CreateJob(duplicate, key %q) = %q, %v, %v; want ErrExists", key, id, created, err)
		}
	}
	got, err := s.Job(ctx, "d")
	if err != nil || got.Tenant != "acme" {
		t.Errorf("Job(d) = %+v, %v; want the original", got, err)
	}
	// The failed call recorded no key: it is free for another job.
	d2 := newJob("d2", "other", 2)
	if id, created, err := s.CreateJob(ctx, d2, "fresh-key", submitted(d2)); err != nil || !created || id != "d2" {
		t.Errorf("CreateJob(d2, fresh-key) = %q, %v, %v; want d2, true, nil", id, created, err)
	}
	if n := len(allEvents(t, s)); n != 2 {
		t.Errorf("%d events, want 2", n)
	}
}

func testDuplicateIDConcurrent(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	s := fresh(t, newDB)
	const n, distinct = 48, 8
	var mu sync.Mutex
	created := map[string]int{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			j := newJob(fmt.Sprintf("dup%d", i%distinct), "acme", i)
			_, ok, err := s.CreateJob(ctx, j, "", submitted(j))
			if err != nil && !errors.Is(err, store.ErrExists) {
				t.Errorf("CreateJob(%s): %v", j.ID, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if ok {
				created[j.ID]++
			}
		})
	}
	wg.Wait()
	for i := range distinct {
		if id := fmt.Sprintf("dup%d", i); created[id] != 1 {
			t.Errorf("%s created %d times, want once", id, created[id])
		}
	}
	if got := len(allJobs(t, s, store.JobFilter{})); got != distinct {
		t.Errorf("%d jobs, want %d", got, distinct)
	}
	if got := len(allEvents(t, s)); got != distinct {
		t.Errorf("%d events, want %d", got, distinct)
	}
}

func testNotFound(t *testing.T, newDB NewDB) {
	s := fresh(t, newDB)
	create(t, s, newJob("here", "acme", 0))
	if j, err := s.Job(context.Background(), "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Job(missing) = %+v, %v; want ErrNotFound", j, err)
	}
}
