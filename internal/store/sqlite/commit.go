package sqlite

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/carnot-dc/carnot/internal/store/group"
)

// A request is one write call waiting for the committer.
type request struct {
	ctx context.Context
	// apply runs the request's statements inside the batch's transaction
	// (and the request's savepoint). An error undoes the request alone.
	apply    func(w *writeStmts) error
	state    atomic.Int32 // queued, taken or abandoned
	done     chan error   // the outcome, once the batch is committed
	answered bool         // done holds the outcome (guarded by db.stall.mu)
	running  bool         // in a batch that runs (guarded by db.stall.mu)
}

// Request states. The committer moves a queued request to taken before
// it runs it, a caller whose context ends moves it to abandoned; whoever
// moves it first decides, so a call that returns its context's error
// wrote nothing.
const (
	queued int32 = iota
	taken
	abandoned
)

// submit hands apply to the committer and waits until its batch is
// committed. op names the operation in errors. It is not shared with the
// PostgreSQL store's write, which it resembles: here a write its disk
// never finishes stalls the store (stall.go), and a caller stops waiting
// for it at its deadline.
func (db *DB) submit(ctx context.Context, op string, apply func(w *writeStmts) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	r := &request{ctx: ctx, apply: apply, done: make(chan error, 1)}
	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return fmt.Errorf("%s: %w", op, ErrClosed)
	}
	if db.stall.overdue() {
		db.mu.RUnlock()
		return fmt.Errorf("%s: %w", op, errStalledQueued)
	}
	select {
	case db.reqs <- r:
		db.mu.RUnlock()
	case <-ctx.Done():
		db.mu.RUnlock()
		return fmt.Errorf("%s: %w", op, ctx.Err())
	case <-db.stall.signal():
		db.mu.RUnlock()
		return fmt.Errorf("%s: %w", op, errStalledQueued)
	}
	var err error
	select {
	case err = <-r.done:
	case <-ctx.Done():
		if r.state.CompareAndSwap(queued, abandoned) {
			return fmt.Errorf("%s: %w", op, ctx.Err())
		}
		// The committer runs it now: its outcome is this call's, until
		// the deadline.
		err = db.awaitTaken(ctx, r)
	case <-db.stall.signal():
		if r.state.CompareAndSwap(queued, abandoned) {
			return fmt.Errorf("%s: %w", op, errStalledQueued)
		}
		err = db.awaitTaken(ctx, r)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// commitLoop is the committer: it commits batches of requests until Close
// closes the channel and every request sent before is answered.
func (db *DB) commitLoop() {
	defer close(db.done)
	group.Loop(db.reqs, maxBatch, db.runBatch)
}

// runBatch runs the live requests of batch in one transaction, commits it
// and answers each request.
func (db *DB) runBatch(batch []*request) {
	if db.beforeBatch != nil {
		db.beforeBatch()
	}
	live := make([]*request, 0, len(batch))
	for _, r := range batch {
		if !r.state.CompareAndSwap(queued, taken) {
			continue // abandoned: its caller has returned
		}
		if !db.stall.start(r) {
			continue // its context ended first: answered with its error
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	db.batches.Add(1)
	db.requests.Add(int64(len(live)))
	errs := make([]error, len(live))
	err := db.inTx(func() error {
		for i, r := range live {
			var fatal error
			errs[i], fatal = db.applyOne(r)
			if fatal != nil {
				return fatal
			}
		}
		return nil
	})
	db.stall.answer(live, errs, err)
}

// inTx runs f in a write transaction and commits it, or rolls it back
// when f fails.
func (db *DB) inTx(f func() error) error {
	ctx := context.Background()
	if _, err := db.ws.begin.ExecContext(ctx); err != nil {
		// Should a transaction have been left open, end it so that the
		// next batch can begin.
		_, _ = db.ws.rollback.ExecContext(ctx)
		return fmt.Errorf("begin: %w", err)
	}
	err := f()
	if err == nil {
		if db.beforeCommit != nil {
			db.beforeCommit()
		}
		_, err = db.ws.commit.ExecContext(ctx)
		if err == nil {
			return nil
		}
		err = fmt.Errorf("commit: %w", err)
	}
	if _, rbErr := db.ws.rollback.ExecContext(ctx); rbErr != nil {
		err = errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
	}
	return err
}

// applyOne runs one request inside its own savepoint. A request that
// fails is rolled back to the savepoint, and its error is the request's
// own; fatal is an error that leaves the transaction unusable.
func (db *DB) applyOne(r *request) (reqErr, fatal error) {
	ctx := context.Background()
	if _, err := db.ws.savepoint.ExecContext(ctx); err != nil {
		return nil, fmt.Errorf("savepoint: %w", err)
	}
	reqErr = r.apply(db.ws)
	if reqErr != nil {
		if _, err := db.ws.rollbackTo.ExecContext(ctx); err != nil {
			return reqErr, errors.Join(reqErr, fmt.Errorf("rollback to savepoint: %w", err))
		}
	}
	if _, err := db.ws.release.ExecContext(ctx); err != nil {
		return reqErr, fmt.Errorf("release savepoint: %w", err)
	}
	return reqErr, nil
}

// BatchStats returns how many write transactions the store has run and
// how many requests they carried: requests/batches is the mean number of
// calls that shared one sync.
func (db *DB) BatchStats() (batches, requests int64) {
	return db.batches.Load(), db.requests.Load()
}
