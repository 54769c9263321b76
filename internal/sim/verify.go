package sim

import (
	"fmt"
	"slices"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
)

// verifier checks every plan the core makes with plan.Verify, on a second
// goroutine one pass behind the engine: applying a plan does not wait for
// its check, and the run still stops at the first plan that fails (the
// error names that pass). Each plan is checked against a copy of the
// snapshot it was made from, since the engine reuses its snapshot.
type verifier struct {
	check *plan.Checker
	work  chan verifyJob
	done  chan error
	err   error // first failure, once known
}

type verifyJob struct {
	snap model.Snapshot
	plan model.Plan
}

func newVerifier(fac *model.Facility) *verifier {
	v := &verifier{check: plan.NewChecker(fac), work: make(chan verifyJob, 4), done: make(chan error, 1)}
	go func() {
		var first error
		for j := range v.work {
			if first != nil {
				continue // drain
			}
			if err := v.check.Verify(&j.snap, &j.plan); err != nil {
				first = fmt.Errorf("sim: the core's plan at %s fails verification (a bug): %w", j.plan.Now, err)
			}
		}
		v.done <- first
	}()
	return v
}

// submit queues a plan for checking; it reports a failure found so far.
func (v *verifier) submit(snap *model.Snapshot, p *model.Plan) error {
	if v.err != nil {
		return v.err
	}
	select {
	case err := <-v.done: // the checker stopped early: only after a failure
		v.err = err
		return err
	default:
	}
	v.work <- verifyJob{snap: copySnapshot(snap), plan: *p}
	return nil
}

// close waits for every queued check and returns the first failure.
func (v *verifier) close() error {
	if v.err != nil {
		return v.err
	}
	close(v.work)
	v.err = <-v.done
	return v.err
}

// copySnapshot copies what the engine changes after a pass: the slices it
// reuses and the GPU states of its nodes. Jobs, placements' GPU lists and
// the facility are never changed in place.
func copySnapshot(s *model.Snapshot) model.Snapshot {
	c := *s
	c.Nodes = slices.Clone(s.Nodes)
	for i := range c.Nodes {
		c.Nodes[i].GPUs = slices.Clone(c.Nodes[i].GPUs)
	}
	c.Running = slices.Clone(s.Running)
	c.Usage = slices.Clone(s.Usage)
	c.RecentPreemptions = slices.Clone(s.RecentPreemptions)
	c.Pending = slices.Clone(s.Pending)
	return c
}
