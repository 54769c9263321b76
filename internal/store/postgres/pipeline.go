package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/carnot-dc/carnot/internal/store"
)

// A pipeFunc queues a request's statements on b, a batch that the
// committer sends in one round trip with the statements of every other
// request of its transaction, without savepoints. The callbacks it sets
// (pgx.QueuedQuery.Fn) read the results, record the request's and set
// *own to the request's error when it failed having written nothing
// (store.ErrExists). Any error they return, and any statement that
// fails, makes the committer roll the transaction back and run the batch
// again request by request, where the error is the request's own.
type pipeFunc func(b *pgx.Batch, own *error)

// runPiped runs live in one transaction whose statements (BEGIN, the
// events lock, the leader epoch when a request is fenced, then each
// request's) go in one round trip, and commits it in a second, recording
// each request's error in errs. When a statement fails or a request's
// fencing token is not the leader epoch, it rolls back and runs the batch
// again with runSavepoints, so that the request fails alone, unless ctx
// has ended (batchDeadline): the batch is given up. It returns an error
// of the whole batch.
func (db *DB) runPiped(ctx context.Context, live []*request, errs []error) error {
	conn, err := db.connect(ctx)
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(lockEvents, eventLockKey)
	var epoch int64
	for _, r := range live {
		if _, ok := store.FenceOf(r.ctx); ok {
			b.Queue(selectEpoch).QueryRow(func(row pgx.Row) error { return row.Scan(&epoch) })
			break
		}
	}
	for i, r := range live {
		r.pipe(b, &errs[i])
	}
	err = conn.SendBatch(ctx, b).Close()
	for i := 0; i < len(live) && err == nil; i++ {
		if e, ok := store.FenceOf(live[i].ctx); ok {
			err = fenceError(e, epoch)
		}
	}
	if err != nil {
		// Nothing is committed: run the batch again, on a new
		// connection if this one is broken.
		if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
			db.drop(conn)
		}
		if ctx.Err() != nil {
			return err // the batch is given up (batchDeadline)
		}
		db.redone.Add(1)
		clear(errs)
		return db.runSavepoints(ctx, live, errs)
	}
	if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
		// The outcome of a failed COMMIT is unknown: start afresh.
		db.drop(conn)
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// alone is how a request that only has pipe runs by itself: its
// statements in one round trip.
func alone(pipe pipeFunc) applyFunc {
	return func(ctx context.Context, q querier) error {
		b := &pgx.Batch{}
		var own error
		pipe(b, &own)
		if err := q.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		return own
	}
}

// queueEvent queues the insertion of ev, whose Seq it records in seq.
func queueEvent(b *pgx.Batch, ev eventRow, seq *int64) {
	b.Queue(insertEvent, ev.Args()...).Fn = func(br pgx.BatchResults) error {
		if err := br.QueryRow().Scan(seq); err != nil {
			return fmt.Errorf("append event: %w", err)
		}
		return nil
	}
}
