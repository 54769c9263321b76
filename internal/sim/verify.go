package sim

import (
	"fmt"
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
// The running allocations and the usage are not copied: the engine sends
// their changes since the previous pass (a delta), and the goroutine
// replays them on its own copies.
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
	snap  model.Snapshot // without Running and Usage, which delta brings up to date
	delta delta
	plan  model.Plan
}

// delta is the changes to a snapshot's running allocations and usage
// since the previous pass's.
type delta struct {
	running []change[model.Allocation]
	usage   []change[model.Usage]
}

// verifyBatch is up to verifyBatchSize plans, in pass order.
type verifyBatch struct {
	jobs []verifyJob
	n    int
}

// tamperVerified, when set (tests only), changes the verifier's copy of
// each plan before it is checked, to make a failure on purpose; it must
// replace the plan's slices, not write into them.
var tamperVerified func(p *model.Plan)

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
		var running []model.Allocation // the engine's, as of the pass checked
		var usage []model.Usage
		for b := range work {
			for i := 0; i < b.n && first == nil; i++ {
				j := &b.jobs[i]
				running, usage = replay(running, j.delta.running), replay(usage, j.delta.usage)
				j.snap.Running, j.snap.Usage = running, usage
				if err := v.check.Verify(&j.snap, &j.plan); err != nil {
					first = fmt.Errorf("sim: the core's plan at %s fails verification (a bug): %w", j.plan.Now, err)
					v.failed.Store(&first)
				}
				j.snap.Running, j.snap.Usage = nil, nil
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
// d is the changes to snap.Running and snap.Usage since the snapshot of
// the previous submit (since empty ones, for the first); submit copies it.
func (v *verifier) submit(snap *model.Snapshot, p *model.Plan, d delta) error {
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
	j.delta.running = append(j.delta.running[:0], d.running...)
	j.delta.usage = append(j.delta.usage[:0], d.usage...)
	j.plan = *p
	if tamperVerified != nil {
		tamperVerified(&j.plan)
	}
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
// changes after a pass: the slices it reuses. Jobs, placements, nodes'
// GPU states and the facility are never changed in place; Running and
// Usage are left out (the verifier rebuilds them).
func copySnapshot(dst, s *model.Snapshot) {
	nodes, recent, pending := dst.Nodes, dst.RecentPreemptions, dst.Pending
	*dst = *s
	dst.Nodes = append(nodes[:0], s.Nodes...)
	dst.Running, dst.Usage = nil, nil
	dst.RecentPreemptions = append(recent[:0], s.RecentPreemptions...)
	dst.Pending = append(pending[:0], s.Pending...)
}
