// Package postgres implements store.Store on a PostgreSQL database
// through a pgx connection pool.
//
// Reads run on the pool. Writes go to one committer goroutine with its
// own connection (commit.go): it takes every request waiting and runs
// them in one transaction, commits once with the server's default
// synchronous_commit (on) and then answers them all: a call returns once
// its batch's commit is flushed to the server's WAL. The transaction
// costs two round trips (pipeline.go): one carries BEGIN, the events lock,
// the leader epoch when a request is fenced and every request's
// statements (a job submission is one statement), pipelined; the other
// COMMIT. When one of those statements fails, or a fenced request's epoch
// is stale, the transaction is rolled back and the batch runs again
// request by request, each in its own savepoint, so that the request
// fails alone. Each batch takes a transaction-scoped advisory lock
// (eventLockKey) before its first request, so that events become visible
// in Seq order (even with several stores on one database) and a reader
// paging with Events.After never skips an event committed later with a
// smaller Seq; it also makes the writes of stores sharing a database take
// turns. The committer's session has an idle_in_transaction_session_timeout
// (stalledTxTimeout): a committer stalled inside its transaction (a paused
// process, a lost network) is cut off by the database, which releases its
// locks, the lease row's included. A batch that cannot finish (a lock it
// waits for, a connection that hangs) is given up once the last of its
// callers' deadlines has passed, after 30 s at most (batchDeadline): its
// calls fail instead of waiting for the database.
//
// The schema lives in numbered migrations (migrations/NNNN_name.sql),
// embedded in the binary and applied in order when the store opens, in
// one transaction under an advisory lock so that servers starting at once
// do not race. The tables live in the first schema of the connection's
// search_path.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/carnot-dc/carnot/internal/store"
)

// ErrClosed is returned by every call made after Close.
var ErrClosed = errors.New("store is closed")

// Advisory lock keys (pg_advisory_xact_lock), arbitrary but fixed.
const (
	// migrateLockKey serializes schema migrations.
	migrateLockKey int64 = 0x6361726e6f74_01 // "carnot" 1
	// eventLockKey serializes the appends to the events table.
	eventLockKey int64 = 0x6361726e6f74_02 // "carnot" 2
)

// DB is a store.Store on one PostgreSQL database.
type DB struct {
	pool *pgxpool.Pool

	// mu guards closed and sends on reqs. Every read holds it for
	// reading while it runs, so that Close, which takes it for writing,
	// waits for them.
	mu     sync.RWMutex
	closed bool
	reqs   chan *request
	done   chan struct{} // closed when the committer has stopped

	// conn is the committer's connection, nil until its first batch or
	// after one left it unusable. Only the committer uses it.
	conn *pgx.Conn

	// The committer's counts (BatchStats): transactions, the requests
	// they carried, and the batches run again request by request.
	batches, requests, redone atomic.Int64
	// savepointsOnly makes the committer run every batch request by
	// request; tests set it before the first write.
	savepointsOnly bool
}

var _ store.Store = (*DB)(nil)

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string; pool_max_conns and the other pgxpool settings
// apply) and applies the migrations it lacks.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open store: parse url: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open store: connect: %w", err)
	}
	err = migrate(ctx, conn.Conn(), migrationFS)
	conn.Release()
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	db := &DB{pool: pool, reqs: make(chan *request, maxBatch), done: make(chan struct{})}
	go db.commitLoop()
	return db, nil
}

// Close waits for the calls in flight, lets the committer commit every
// write submitted before, and closes the connections. Calls made after
// Close return ErrClosed.
func (db *DB) Close() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return fmt.Errorf("close store: %w", ErrClosed)
	}
	db.closed = true
	close(db.reqs)
	<-db.done
	db.pool.Close()
	return nil
}

// enter marks a call in flight, or fails with ErrClosed naming op. The
// caller calls the function returned when it is done.
func (db *DB) enter(op string) (func(), error) {
	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return nil, fmt.Errorf("%s: %w", op, ErrClosed)
	}
	return db.mu.RUnlock, nil
}

// lockEvents takes the events lock ($1: eventLockKey) until the
// transaction ends.
const lockEvents = "SELECT pg_advisory_xact_lock($1)"

// BatchStats returns how many write transactions the store has run, how
// many requests they carried (requests/batches is the mean number of calls
// that shared one commit) and how many of the batches ran again request
// by request, after one of their statements failed.
func (db *DB) BatchStats() (batches, requests, redone int64) {
	return db.batches.Load(), db.requests.Load(), db.redone.Load()
}
