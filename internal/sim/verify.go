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
	work  chan *verifyJob
	free  chan *verifyJob // checked jobs, whose buffers the next copies reuse
	done  chan error
	err   error // first failure, once known
}

type verifyJob struct {
	snap model.Snapshot
	plan model.Plan
}

const verifyQueue = 4

func newVerifier(fac *model.Facility) *verifier {
	v := &verifier{check: plan.NewChecker(fac), work: make(chan *verifyJob, verifyQueue),
		free: make(chan *verifyJob, verifyQueue+2), done: make(chan error, 1)}
	go func() {
		var first error
		for j := range v.work {
			if first == nil {
				if err := v.check.Verify(&j.snap, &j.plan); err != nil {
					first = fmt.Errorf("sim: the core's plan at %s fails verification (a bug): %w", j.plan.Now, err)
				}
			}
			select {
			case v.free <- j:
			default:
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
	var j *verifyJob
	select {
	case j = <-v.free:
	default:
		j = &verifyJob{}
	}
	copySnapshot(&j.snap, snap)
	j.plan = *p
	v.work <- j
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

// copySnapshot copies into dst, reusing its slices, what the engine
// changes after a pass: the slices it reuses and the GPU states of its
// nodes. Jobs, placements and the facility are never changed in place.
func copySnapshot(dst, s *model.Snapshot) {
	nodes, running, usage, recent, pending := dst.Nodes, dst.Running, dst.Usage, dst.RecentPreemptions, dst.Pending
	*dst = *s
	dst.Nodes = append(nodes[:0], s.Nodes...)
	for i := range dst.Nodes {
		dst.Nodes[i].GPUs = slices.Clone(dst.Nodes[i].GPUs)
	}
	dst.Running = append(running[:0], s.Running...)
	dst.Usage = append(usage[:0], s.Usage...)
	dst.RecentPreemptions = append(recent[:0], s.RecentPreemptions...)
	dst.Pending = append(pending[:0], s.Pending...)
}
