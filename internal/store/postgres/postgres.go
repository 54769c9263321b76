// Package postgres implements store.Store on a PostgreSQL database
// through a pgx connection pool.
//
// Reads run on the pool. Writes go to one committer goroutine with its
// own connection (commit.go): it takes every request waiting, runs them
// in one transaction, each in its own savepoint so that a request that
// fails is undone alone, commits once with the server's default
// synchronous_commit (on) and then answers them all: a call returns once
// its batch's commit is flushed to the server's WAL. Each batch takes a
// transaction-scoped advisory lock (eventLockKey) before its first
// request, so that events become visible in Seq order (even with several
// stores on one database) and a reader paging with Events.After never
// skips an event committed later with a smaller Seq.
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

// lockEvents takes the events lock until the transaction q runs in ends.
func lockEvents(ctx context.Context, q querier) error {
	if _, err := q.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", eventLockKey); err != nil {
		return fmt.Errorf("lock events: %w", err)
	}
	return nil
}
