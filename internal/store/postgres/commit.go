package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/carnot-dc/carnot/internal/store"
	"github.com/carnot-dc/carnot/internal/store/group"
)

// maxBatch is the most requests one transaction commits.
const maxBatch = 512

// querier runs statements: the committer's connection inside its batch's
// transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// An applyFunc runs a request's statements inside the batch's
// transaction (and the request's savepoint), which already holds the
// events lock. An error undoes the request alone.
type applyFunc func(ctx context.Context, q querier) error

// A request is one write call waiting for the committer.
type request struct {
	ctx   context.Context
	pipe  pipeFunc     // the request's statements, pipelined with the batch's
	apply applyFunc    // the request alone, in its savepoint
	state atomic.Int32 // queued, taken or abandoned
	done  chan error   // the outcome, once the batch is committed
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

// write hands a request to the committer and waits until its batch is
// committed. op names the operation in errors. pipe queues the request's
// statements (pipeline.go); apply, when not nil, is how the request runs
// alone if its batch must run request by request, which otherwise sends
// pipe's statements alone. A context already ended writes nothing. It is
// not shared with the SQLite store's submit, which it resembles: here the
// committer gives a batch up at its callers' last deadline
// (batchDeadline), so a caller waits for the outcome of a request taken.
func (db *DB) write(ctx context.Context, op string, pipe pipeFunc, apply applyFunc) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if apply == nil {
		apply = alone(pipe)
	}
	r := &request{ctx: ctx, pipe: pipe, apply: apply, done: make(chan error, 1)}
	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return fmt.Errorf("%s: %w", op, ErrClosed)
	}
	select {
	case db.reqs <- r:
		db.mu.RUnlock()
	case <-ctx.Done():
		db.mu.RUnlock()
		return fmt.Errorf("%s: %w", op, ctx.Err())
	}
	var err error
	select {
	case err = <-r.done:
	case <-ctx.Done():
		if r.state.CompareAndSwap(queued, abandoned) {
			return fmt.Errorf("%s: %w", op, ctx.Err())
		}
		// The committer runs it now: its outcome is this call's.
		err = <-r.done
	}
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// commitLoop is the committer: it commits batches of requests until Close
// closes the channel and every request sent before is answered, then
// closes its connection.
func (db *DB) commitLoop() {
	defer close(db.done)
	group.Loop(db.reqs, maxBatch, db.runBatch)
	if db.conn != nil {
		_ = db.conn.Close(context.Background())
		db.conn = nil
	}
}

// runBatch runs the live requests of batch in one transaction, commits it
// and answers each request.
func (db *DB) runBatch(batch []*request) {
	live := make([]*request, 0, len(batch))
	for _, r := range batch {
		if !r.state.CompareAndSwap(queued, taken) {
			continue // abandoned: its caller has returned
		}
		if err := r.ctx.Err(); err != nil {
			r.done <- err
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	db.batches.Add(1)
	db.requests.Add(int64(len(live)))
	errs := make([]error, len(live))
	run := db.runPiped
	if db.savepointsOnly {
		run = db.runSavepoints
	}
	ctx, cancel := context.WithDeadline(context.Background(), batchDeadline(live))
	defer cancel()
	err := run(ctx, live, errs)
	for i, r := range live {
		if err != nil {
			r.done <- err
		} else {
			r.done <- errs[i]
		}
	}
}

// maxBatchTime bounds a batch none of whose requests has a deadline.
const maxBatchTime = 30 * time.Second

// batchDeadline is when the committer gives a batch up: once the last of
// its requests' deadlines has passed (no caller waits for it any more),
// and at most maxBatchTime from now. A batch given up fails all its
// requests, and its connection is closed, which rolls it back unless its
// COMMIT was sent (then its outcome is unknown, as for any failed
// COMMIT). A request's cancellation is not a deadline: a write is not
// tied to the call that made it (a client hanging up).
func batchDeadline(live []*request) time.Time {
	limit := time.Now().Add(maxBatchTime)
	var last time.Time
	for _, r := range live {
		d, ok := r.ctx.Deadline()
		if !ok || d.After(limit) {
			return limit
		}
		if d.After(last) {
			last = d
		}
	}
	return last
}

// runSavepoints runs live in one transaction, request by request, each in
// its savepoint (applyOne), and commits it, recording each request's
// error in errs. It returns an error of the whole batch.
func (db *DB) runSavepoints(ctx context.Context, live []*request, errs []error) error {
	return db.inTx(ctx, func(conn *pgx.Conn) error {
		for i, r := range live {
			var fatal error
			errs[i], fatal = applyOne(ctx, conn, r)
			if fatal != nil {
				return fatal
			}
		}
		return nil
	})
}

// inTx runs f in a transaction on the committer's connection, holding the
// events lock, and commits it, or rolls it back when f fails. The lock is
// taken once, before any request's savepoint, so that rolling a request
// back never releases it.
func (db *DB) inTx(ctx context.Context, f func(conn *pgx.Conn) error) error {
	conn, err := db.connect(ctx)
	if err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
		db.drop(conn)
		return fmt.Errorf("begin: %w", err)
	}
	if _, err = conn.Exec(ctx, lockEvents, eventLockKey); err != nil {
		err = fmt.Errorf("lock events: %w", err)
	}
	if err == nil {
		_, err = conn.Exec(ctx, "SAVEPOINT request")
	}
	if err == nil {
		err = f(conn)
	}
	if err == nil {
		if _, err = conn.Exec(ctx, "COMMIT"); err == nil {
			return nil
		}
		// The outcome of a failed COMMIT is unknown: start afresh.
		db.drop(conn)
		return fmt.Errorf("commit: %w", err)
	}
	if _, rbErr := conn.Exec(ctx, "ROLLBACK"); rbErr != nil {
		db.drop(conn)
		err = errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
	}
	return err
}

// stalledTxTimeout is how long the database lets the committer's
// transaction wait for its next statement (its COMMIT, between the two
// round trips) before it ends the session and rolls the transaction back:
// a leader paused or cut off mid-transaction holds the lease row (the
// fencing check locks it FOR SHARE) and the events lock, which would
// otherwise keep every standby from taking the lease, and every store
// from writing, until the leader resumes or its TCP connection times out.
// The URL's idle_in_transaction_session_timeout, when set, wins.
const stalledTxTimeout = 5 * time.Second

// connect returns the committer's connection, opening it if need be.
func (db *DB) connect(ctx context.Context) (*pgx.Conn, error) {
	if db.conn != nil && !db.conn.IsClosed() {
		return db.conn, nil
	}
	if db.conn != nil {
		db.drop(db.conn)
	}
	cfg := db.pool.Config().ConnConfig.Copy()
	const idleParam = "idle_in_transaction_session_timeout"
	if _, ok := cfg.RuntimeParams[idleParam]; !ok {
		cfg.RuntimeParams[idleParam] = strconv.FormatInt(stalledTxTimeout.Milliseconds(), 10)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	db.conn = conn
	return conn, nil
}

// drop closes the committer's connection, left in an unknown state; the
// next batch opens another.
func (db *DB) drop(conn *pgx.Conn) {
	_ = conn.Close(context.Background())
	if db.conn == conn {
		db.conn = nil
	}
}

// applyOne runs one request inside the savepoint "request", which inTx
// sets before the first. A request that fails is rolled back to the
// savepoint, which stays for the next; one that succeeds releases it and
// sets it again, in the same round trip. The request's error is its own;
// fatal is an error that leaves the transaction unusable.
func applyOne(ctx context.Context, conn *pgx.Conn, r *request) (reqErr, fatal error) {
	if epoch, ok := store.FenceOf(r.ctx); ok {
		reqErr = checkFence(ctx, conn, epoch)
	}
	if reqErr == nil {
		reqErr = r.apply(ctx, conn)
	}
	if reqErr != nil {
		if _, err := conn.Exec(ctx, "ROLLBACK TO SAVEPOINT request"); err != nil {
			return reqErr, errors.Join(reqErr, fmt.Errorf("rollback to savepoint: %w", err))
		}
		return reqErr, nil
	}
	// Without arguments, Exec sends both statements as one simple query.
	if _, err := conn.Exec(ctx, "RELEASE SAVEPOINT request; SAVEPOINT request"); err != nil {
		return nil, fmt.Errorf("release savepoint: %w", err)
	}
	return nil, nil
}
