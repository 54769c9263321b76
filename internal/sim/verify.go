package sim

import (
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
)

// verifier checks every plan the core makes with plan.Verify, on a second
// goroutine behind the engine: applying a plan does not wait for its
// check, and the run still stops at the first plan that fails (the error
// names that pass). Each plan is checked against a copy of the snapshot
// it was made from, since the engine reuses its snapshot; copies go over
// in batches, so that the goroutines wake up once per batch, not per pass.
type verifier struct {
	check  *plan.Checker
	work   chan *verifyBatch
	free   chan *verifyBatch // checked batches, whose buffers the next copies reuse
	done   chan error
	cur    *verifyBatch // being filled
	err    error        // first failure, once known
	closed bool
	// failed holds the first failure as soon as the checker finds it
	failed atomic.Pointer[error]
}

type verifyJob struct {
	snap model.Snapshot
	plan model.Plan
}

// verifyBatch is up to verifyBatchSize plans, in pass order.
type verifyBatch struct {
	jobs []verifyJob
	n    int
}

const (
	verifyQueue     = 4
	verifyBatchSize = 16
)

func newVerifier(fac *model.Facility) *verifier {
	v := &verifier{check: plan.NewChecker(fac), work: make(chan *verifyBatch, verifyQueue),
		free: make(chan *verifyBatch, verifyQueue+2), done: make(chan error, 1), cur: &verifyBatch{}}
	work := v.work
	go func() {
		var first error
		for b := range work {
			for i := 0; i < b.n && first == nil; i++ {
				j := &b.jobs[i]
				if err := v.check.Verify(&j.snap, &j.plan); err != nil {
					first = fmt.Errorf("sim: the core's plan at %s fails verification (a bug): %w", j.plan.Now, err)
					v.failed.Store(&first)
				}
			}
			b.n = 0
			select {
			case v.free <- b:
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
	if err := v.failed.Load(); err != nil {
		v.err = *err
		return v.err
	}
	b := v.cur
	if b.n == len(b.jobs) {
		b.jobs = append(b.jobs, verifyJob{})
	}
	j := &b.jobs[b.n]
	b.n++
	copySnapshot(&j.snap, snap)
	j.plan = *p
	if b.n == verifyBatchSize {
		v.work <- b
		select {
		case v.cur = <-v.free:
		default:
			v.cur = &verifyBatch{}
		}
	}
	return nil
}

// close waits for every queued check and returns the first failure.
func (v *verifier) close() error {
	if v.closed {
		return v.err
	}
	if v.cur.n > 0 && v.err == nil {
		v.work <- v.cur
	}
	close(v.work)
	v.closed = true
	if err := <-v.done; v.err == nil {
		v.err = err
	}
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
