package server

import (
	"context"
	"errors"
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
	s2.pass(context.Background())
	s2.mu.Lock()
	state := s2.jobs[id].doc.State
	s2.mu.Unlock()
	if state != api.StateRunning {
		t.Errorf("job %s after the reload: %s, want running (the node is reloaded too)", id, state)
	}
}
