package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

func testUpdate(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	s := fresh(t, newDB)
	a, b := newJob("a", "acme", 0), newJob("b", "beta", 1)
	create(t, s, a)
	create(t, s, b)

	a.State = api.StateRunning
	a.StartTime = ptr(at(time.Minute))
	a.Attempt = 1
	a.Replicas = []api.Replica{{Node: "n1", GPUs: []int{0}, State: api.ReplicaAssigned}}
	a.Usage = api.Usage{GPUSeconds: 60, ITKWh: 0.5}
	b.State = api.StateSucceeded
	b.EndTime = ptr(at(time.Hour))
	b.Usage = api.Usage{GPUSeconds: 7, EUR: 0.25, GCO2e: 3}
	evs := []api.Event{
		{Time: at(time.Minute), Job: "a", Tenant: "acme", Node: "n1", Type: api.EventStarted, Message: "started"},
		{Time: at(time.Hour), Job: "b", Tenant: "beta", Type: api.EventFinished, Message: "succeeded"},
	}
	if err := s.Update(ctx, []*api.Job{a, b}, evs); err != nil {
		t.Fatalf("Update: %v", err)
	}
	for _, want := range []*api.Job{a, b} {
		got, err := s.Job(ctx, want.ID)
		if err != nil {
			t.Fatalf("Job(%s): %v", want.ID, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Job(%s) after Update (-want +got):\n%s", want.ID, diff)
		}
	}
	// The filters and sums see the new state and usage.
	if got := ids(allJobs(t, s, store.JobFilter{States: []string{api.StateRunning}})); !cmp.Equal(got, []string{"a"}) {
		t.Errorf("running jobs = %v, want [a]", got)
	}
	if got := ids(allJobs(t, s, store.JobFilter{States: []string{api.StatePending}})); len(got) != 0 {
		t.Errorf("pending jobs = %v, want none", got)
	}
	active, err := s.Active(ctx)
	if err != nil || !cmp.Equal(ids(active), []string{"a"}) {
		t.Errorf("Active = %v, %v; want [a]", ids(active), err)
	}
	usage, err := s.Usage(ctx)
	if err != nil {
		t.Fatalf("Usage: %v", err)
	}
	wantUsage := []api.TenantUsage{
		{Tenant: "acme", Jobs: 1, Usage: a.Usage},
		{Tenant: "beta", Jobs: 1, Usage: b.Usage},
	}
	if diff := cmp.Diff(wantUsage, usage); diff != "" {
		t.Errorf("Usage (-want +got):\n%s", diff)
	}
	got := allEvents(t, s)
	want := []api.Event{*submitted(newJob("a", "acme", 0)), *submitted(newJob("b", "beta", 1)), evs[0], evs[1]}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(api.Event{}, "Seq")); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	checkSeqs(t, got)
}

func testUpdateMissing(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	s := fresh(t, newDB)
	a := newJob("a", "acme", 0)
	create(t, s, a)
	before := allEvents(t, s)

	changed := clone(t, a)
	changed.State = api.StateRunning
	missing := newJob("missing", "acme", 1)
	ev := api.Event{Time: at(time.Minute), Job: "a", Type: api.EventStarted, Message: "started"}
	for _, jobs := range [][]*api.Job{{changed, missing}, {missing, changed}} {
		err := s.Update(ctx, jobs, []api.Event{ev})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Update with a missing job = %v, want ErrNotFound", err)
		}
	}
	got, err := s.Job(ctx, "a")
	if err != nil {
		t.Fatalf("Job(a): %v", err)
	}
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("a failed Update changed job a (-want +got):\n%s", diff)
	}
	if _, err := s.Job(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Job(missing) = %v, want ErrNotFound: Update creates nothing", err)
	}
	if diff := cmp.Diff(before, allEvents(t, s)); diff != "" {
		t.Errorf("a failed Update appended events (-before +after):\n%s", diff)
	}
}

func testUpdateEventsOnly(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	s := fresh(t, newDB)
	evs := []api.Event{
		{Time: at(0), Node: "n1", Type: api.EventNode, Message: "n1 registered"},
		{Time: at(time.Second), Node: "n1", Type: api.EventNode, Message: "n1 drained"},
	}
	if err := s.Update(ctx, nil, evs); err != nil {
		t.Fatalf("Update(events only): %v", err)
	}
	if err := s.Update(ctx, nil, nil); err != nil {
		t.Fatalf("Update(nothing): %v", err)
	}
	got := allEvents(t, s)
	if diff := cmp.Diff(evs, got, cmpopts.IgnoreFields(api.Event{}, "Seq")); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	checkSeqs(t, got)
}

// testCancelledContext checks that a write called with a context already
// cancelled fails with the context's error and writes nothing.
func testCancelledContext(t *testing.T, newDB NewDB) {
	s := fresh(t, newDB)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	j := newJob("j", "acme", 0)
	if _, _, err := s.CreateJob(ctx, j, "k", submitted(j)); !errors.Is(err, context.Canceled) {
		t.Errorf("CreateJob = %v, want context.Canceled", err)
	}
	if err := s.Update(ctx, nil, []api.Event{*submitted(j)}); !errors.Is(err, context.Canceled) {
		t.Errorf("Update = %v, want context.Canceled", err)
	}
	if err := s.PutNode(ctx, &api.Node{Name: "n1"}); !errors.Is(err, context.Canceled) {
		t.Errorf("PutNode = %v, want context.Canceled", err)
	}
	bg := context.Background()
	if _, err := s.Job(bg, "j"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Job(j) = %v, want ErrNotFound", err)
	}
	if evs := allEvents(t, s); len(evs) != 0 {
		t.Errorf("events = %+v, want none", evs)
	}
	if nodes, err := s.Nodes(bg); err != nil || len(nodes) != 0 {
		t.Errorf("Nodes = %v, %v; want none", nodes, err)
	}
}
