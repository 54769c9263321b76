package server

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// jobReadsStore counts the store's reads of one job, and of many.
type jobReadsStore struct {
	store.Store
	reads, batches atomic.Int64
}

func (c *jobReadsStore) JobStates(ctx context.Context, ids []string) (map[string]store.JobState, error) {
	c.batches.Add(1)
	return c.Store.JobStates(ctx, ids)
}

func (c *jobReadsStore) Job(ctx context.Context, id string) (*api.Job, error) {
	c.reads.Add(1)
	return c.Store.Job(ctx, id)
}

// A reload reads the dependencies of its pending jobs that it does not
// load (they ended) from the store at once, not one read each: a
// restart with many jobs waiting on finished ones stays one query. The
// jobs, their dependencies succeeded, start at the first pass.
func TestDependsOnReloadReadsDependenciesAtOnce(t *testing.T) {
	e := devEnv(t)
	var deps []string
	for i := range 4 {
		deps = append(deps, e.submit(spec(1, 1, "id", fmt.Sprintf("a%d", i))))
	}
	e.pass()
	for _, a := range deps {
		e.report("n1", exited(a, 0, 1, 0))
	}
	for i, a := range deps {
		e.submit(spec(1, 1, "id", fmt.Sprintf("b%d", i), "depends_on", a))
	}
	e.s.store.Close() // before the pass that starts them
	var reads *jobReadsStore
	e = openEnv(t, e.dir, e.s.cfg.Facility, true, e.clock, func(c *Config) {
		reads = &jobReadsStore{Store: c.Store}
		c.Store = reads
	})
	if n, b := reads.reads.Load(), reads.batches.Load(); n != 0 || b != 1 {
		t.Errorf("the reload read %d jobs one by one and made %d reads of many; want the %d dependencies read at once", n, b, len(deps))
	}
	e.pass()
	for i, a := range deps {
		if j := e.job(a); j.State != api.StateSucceeded {
			t.Fatalf("%s: %s, want succeeded", a, j.State)
		}
		if j := e.job(fmt.Sprintf("b%d", i)); j.State == api.StatePending {
			t.Errorf("b%d, its dependency %s succeeded, still pending after a pass: %+v", i, a, j.Reason)
		}
	}
}
