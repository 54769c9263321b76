package sqlite

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// A write runs in the committer once taken, and SQLite cannot be made to
// give up a sync that never returns (a disk or a network volume that
// stopped answering). Its caller stops waiting at its deadline all the
// same (the server's commit holds the server's lock: waiting for ever
// would hang every request instead of failing the server, which then
// rebuilds from the store), with ErrStalled: the write may yet land.
//
// From that moment until the write ends, the store is overdue: what it
// holds is unknown, so every read and write fails at once with
// ErrStalled, and the writes still queued are abandoned (nothing of them
// written). A server rebuilt from reads that left out a write landing
// after them would be behind its store: it could start a job again that
// the late write had started.

// stall tracks a write past its deadline.
type stall struct {
	mu    sync.Mutex
	late  bool          // a write is overdue
	alarm chan struct{} // closed when one becomes overdue; nil until asked for
}

// overdue reports whether a write runs past its deadline.
func (s *stall) overdue() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.late
}

// signal is closed once a write is overdue.
func (s *stall) signal() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.alarm == nil {
		s.alarm = make(chan struct{})
		if s.late {
			close(s.alarm)
		}
	}
	return s.alarm
}

// start decides, for a request the committer has taken, whether it runs
// in the batch (true) or is answered with its context's error, which has
// ended (false). Decided under the lock that giveUp takes, so that a
// caller whose deadline passed knows which.
func (s *stall) start(r *request) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := r.ctx.Err(); err != nil {
		r.answered = true
		r.done <- err
		return false
	}
	r.running = true
	return true
}

// giveUp marks the store overdue for r, whose deadline has passed, when
// r runs in a batch that has not ended. It reports true, and marks
// nothing, when r's outcome is in r.done or is about to be: answered
// already, or not yet started, when the committer will find its context
// ended (a deadline passed in the queue is no stall).
func (s *stall) giveUp(r *request) (outcome bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.answered || !r.running {
		return true
	}
	if !s.late {
		s.late = true
		if s.alarm != nil {
			close(s.alarm)
		}
	}
	return false
}

// answer gives each request its outcome (errs[i], or err for all when
// err is set); once the committer has answered, no write is in flight,
// so the store is no longer overdue.
func (s *stall) answer(rs []*request, errs []error, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range rs {
		r.answered = true
		if err != nil || errs == nil {
			r.done <- err
		} else {
			r.done <- errs[i]
		}
	}
	if s.late {
		s.late, s.alarm = false, nil
	}
}

// awaitTaken waits for the outcome of r, which the committer has taken,
// until ctx's deadline (a cancellation does not end the wait: the write
// is not tied to its caller); past it, the store is overdue and the
// call fails with ErrStalled.
func (db *DB) awaitTaken(ctx context.Context, r *request) error {
	var expired <-chan time.Time
	if d, ok := ctx.Deadline(); ok {
		t := time.NewTimer(time.Until(d))
		defer t.Stop()
		expired = t.C
	}
	select {
	case err := <-r.done:
		return err
	case <-expired:
	}
	if db.stall.giveUp(r) {
		return <-r.done
	}
	return fmt.Errorf("%w: %w", ErrStalled, context.DeadlineExceeded)
}

// errStalledQueued is the error of a write abandoned in the queue because
// another is overdue: nothing of it was written.
var errStalledQueued = fmt.Errorf("%w; this write was not made", ErrStalled)
