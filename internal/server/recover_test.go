package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// failingStore fails Update while fail is set, as a database that went
// away does.
type failingStore struct {
	store.Store
	fail atomic.Bool
}

func (f *failingStore) Update(ctx context.Context, jobs []*api.Job, events []api.Event, nodes ...*api.Node) error {
	if f.fail.Load() {
		return errors.New("connection refused")
	}
	return f.Store.Update(ctx, jobs, events, nodes...)
}

// A commit that fails stops the loop with ErrCommitFailed (memory may be
// ahead of the store); a server built again from the store once it
// answers has every acknowledged job and schedules them.
func TestCommitFailureStopsAndReloads(t *testing.T) {
	e := devEnv(t)
	fs := &failingStore{Store: e.s.store}
	e.s.store = fs
	id := e.submit(spec(1, 1))
	fs.fail.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := e.s.Run(ctx)
	if !errors.Is(err, ErrCommitFailed) {
		t.Fatalf("Run with a failing store: %v, want ErrCommitFailed", err)
	}
	var p api.Problem
	if code := e.do("GET", "/readyz", nil, &p); code != 503 {
		t.Errorf("readyz after the failure: %d, want 503", code)
	}
	fs.fail.Store(false)
	s2, err := New(context.Background(), e.s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	s2.mu.Lock()
	_, ok := s2.jobs[id]
	s2.mu.Unlock()
	if !ok {
		t.Fatalf("the reloaded server lost job %s", id)
	}
	envOf(t, s2, e.dir, e.clock).agentsBack() // n1's agent beats, as it does every second
	s2.pass(context.Background())
	s2.mu.Lock()
	state := s2.jobs[id].doc.State
	s2.mu.Unlock()
	if state != api.StateRunning {
		t.Errorf("job %s after the reload: %s, want running (the node is reloaded too)", id, state)
	}
}

// What a server whose commit failed holds in memory only is neither
// acknowledged nor announced, even once the database is back, until its
// successor replaces it. A replica's exit it could not save is answered
// 503 each time it is reported: an agent told otherwise stops reporting
// it, and the successor, built from the store, waits for it forever. No
// assignments are served from its memory: a start the store never got
// would run, then be forgotten by the agent, which never runs the
// successor's start of the same attempt. The long polls it held end at
// once. The successor hears the exit again and finishes the job.
func TestFailedServerAcknowledgesNothingFromMemory(t *testing.T) {
	e := devEnv(t)
	fs := &failingStore{Store: e.s.store}
	e.s.store = fs
	done := e.submit(spec(1, 1))
	e.pass()
	e.report("n1", running(done, 0, 1))
	version := e.assignments("n1").Version
	polled := make(chan int, 1)
	go func() {
		polled <- e.raw("GET", fmt.Sprintf("/v1/agent/nodes/n1/assignments?after=%d&wait=1m", version), nil).Code
	}()
	later := e.submit(spec(1, 1)) // durable at once: the store's CreateJob still works

	fs.fail.Store(true) // the database goes away
	e.pass()            // starts later in memory; the commit fails
	e.s.mu.Lock()
	failed := e.s.failed
	e.s.mu.Unlock()
	if failed == nil {
		t.Fatal("the pass's commit did not fail")
	}
	hb := api.Heartbeat{Tasks: []api.TaskStatus{exited(done, 0, 1, 0)}}
	if code := e.do("POST", "/v1/agent/nodes/n1/heartbeat", hb, nil); code != http.StatusServiceUnavailable {
		t.Errorf("heartbeat with an exit while the database is down: %d, want 503", code)
	}
	select {
	case code := <-polled:
		if code != http.StatusServiceUnavailable {
			t.Errorf("long poll held when the commit failed: %d, want 503", code)
		}
	case <-time.After(5 * time.Second):
		t.Error("the long poll held when the commit failed is still waiting")
	}
	fs.fail.Store(false) // the database is back before the server is retired
	if w := e.raw("GET", "/v1/agent/nodes/n1/assignments", nil); w.Code != http.StatusServiceUnavailable {
		t.Errorf("assignments from the failed server: %d %s, want 503 (its memory starts %s, which the store does not know)",
			w.Code, w.Body, later)
	}
	if code := e.do("POST", "/v1/agent/nodes/n1/heartbeat", hb, nil); code != http.StatusServiceUnavailable {
		t.Errorf("the exit reported again to the failed server: %d, want 503 (it is not in the store)", code)
	}

	s2, err := New(context.Background(), e.s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	e2 := envOf(t, s2, e.dir, e.clock)
	if j := e2.job(done); j.State != api.StateRunning {
		t.Fatalf("job %s in the successor: %s, want running (its exit was never saved)", done, j.State)
	}
	if j := e2.job(later); j.State != api.StatePending {
		t.Fatalf("job %s in the successor: %s, want pending (its start was never saved)", later, j.State)
	}
	e2.report("n1", exited(done, 0, 1, 0))
	if j := e2.job(done); j.State != api.StateSucceeded {
		t.Errorf("job %s after its exit reached the successor: %s, want succeeded", done, j.State)
	}
	e2.pass()
	if tasks := e2.tasks("n1"); len(tasks) != 1 || tasks[0].Job != later || tasks[0].Attempt != 1 {
		t.Errorf("the successor's assignments: %+v, want %s's attempt 1", tasks, later)
	}
}

// TestCommitOutlivesItsCaller: a change already in memory is written even
// when the request that made it has ended (a client that hung up), so
// memory never runs ahead of the store without the server knowing.
func TestCommitOutlivesItsCaller(t *testing.T) {
	e := devEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := newChanges()
	c.events = append(c.events, api.Event{Type: api.EventNode, Node: "n1", Message: "written after its caller left"})
	e.s.mu.Lock()
	err := e.s.commit(ctx, c)
	e.s.mu.Unlock()
	if err != nil {
		t.Fatalf("commit with an ended request context: %v", err)
	}
	evs, err := e.s.store.Events(context.Background(), store.EventFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 || evs[len(evs)-1].Message != "written after its caller left" {
		t.Fatalf("the change is not in the store: last events %+v", evs[max(0, len(evs)-2):])
	}
}
