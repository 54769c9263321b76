// Package sqlite implements store.Store on an embedded SQLite database
// (modernc.org/sqlite, pure Go, no cgo).
//
// The database runs in WAL mode with synchronous=FULL, so a committed
// transaction is on disk when the commit returns. Reads go through a pool
// of read-only connections and never wait for writes. Every write goes
// through one committer goroutine that owns the single writer connection:
// it takes every request waiting (up to 512), runs them in one
// transaction, each inside its own savepoint so that a failing request is
// undone alone, commits once (one sync for the whole batch) and then
// answers each caller. Concurrent submissions thus share a sync.
//
// The schema lives in numbered migrations (migrations/NNNN_name.sql),
// embedded in the binary and applied in order when the store opens.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/carnot-dc/carnot/internal/store"
)

// ErrClosed is returned by every call made after Close.
var ErrClosed = errors.New("store is closed")

// ErrStalled is returned by a write still running at its deadline (a
// disk that stopped answering: its outcome is unknown), and by every
// call made while it runs on: what the store holds is known again only
// once it ends (stall.go).
var ErrStalled = errors.New("a write did not finish by its deadline (a stalled disk?); the store answers again once it ends")

// maxBatch is the most requests one transaction commits.
const maxBatch = 512

// busyTimeoutMS is how long a connection waits for a lock another process
// (a backup, the sqlite3 shell) holds before it fails.
const busyTimeoutMS = 5000

// DB is a store.Store on one SQLite database file.
type DB struct {
	path string
	w    *sql.DB   // the writer pool: exactly one connection
	conn *sql.Conn // that connection, owned by the committer
	ws   *writeStmts
	r    *sql.DB // read-only connections

	mu     sync.RWMutex // guards closed and sends on reqs
	closed bool
	reqs   chan *request
	done   chan struct{} // closed when the committer has stopped

	batches  atomic.Int64 // transactions committed or attempted
	requests atomic.Int64 // requests they carried

	// beforeBatch and beforeCommit, when set (by tests, before the first
	// write), run in the committer before each batch and before each
	// COMMIT.
	beforeBatch, beforeCommit func()

	stall stall // a write past its deadline

	// lock holds PATH.lock while the database is open: two servers
	// writing one SQLite file would both act as the only one.
	lock *os.File
}

// ErrInUse is returned by Open when another process (or another Open in
// this one) has the database open. SQLite serves one server; several
// servers share a PostgreSQL database (docs/reliability.md).
var ErrInUse = errors.New("the database is in use by another carnot process: one server per SQLite database (run several on PostgreSQL)")

var _ store.Store = (*DB)(nil)

// Open opens the database at path, creating the file and its directory
// when missing, and applies the migrations it lacks.
func Open(path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("open store: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	lock, err := lockFile(abs + ".lock")
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db := &DB{path: abs, reqs: make(chan *request, maxBatch), done: make(chan struct{}), lock: lock}
	if err := db.openWriter(); err != nil {
		db.unlock()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn(abs, true))
	if err != nil {
		_ = db.closeWriter()
		db.unlock()
		return nil, fmt.Errorf("open store %s: readers: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	db.r = r
	go db.commitLoop()
	return db, nil
}

// openWriter opens the writer connection, checks its settings, migrates
// the schema and prepares the write statements.
func (db *DB) openWriter() error {
	ctx := context.Background()
	w, err := sql.Open("sqlite", dsn(db.path, false))
	if err != nil {
		return fmt.Errorf("writer: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	db.w = w
	conn, err := w.Conn(ctx)
	if err != nil {
		_ = w.Close()
		return fmt.Errorf("writer: %w", err)
	}
	db.conn = conn
	err = checkWAL(ctx, conn)
	if err == nil {
		err = migrate(ctx, conn, migrationFS)
	}
	if err == nil {
		db.ws, err = prepareWrites(ctx, conn)
	}
	if err != nil {
		_ = db.closeWriter()
		return err
	}
	return nil
}

// checkWAL fails unless the connection runs in WAL mode: a file system
// without shared memory support leaves SQLite in its rollback journal.
func checkWAL(ctx context.Context, conn *sql.Conn) error {
	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("read journal mode: %w", err)
	}
	if mode != "wal" {
		return fmt.Errorf("journal mode is %q, not wal: is the file system local?", mode)
	}
	return nil
}

// dsn is the driver's data source name for the file at abs: a URI so that
// SQLite can open it read-only.
func dsn(abs string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	if readOnly {
		q.Set("mode", "ro")
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(FULL)")
		// Statement journals of the per-request savepoints stay in memory
		// instead of a temporary file (pwrite calls on every request).
		q.Add("_pragma", "temp_store(MEMORY)")
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	return u.String()
}

// Close waits for the writes in flight, stops the committer and closes
// the database. Calls made after Close return ErrClosed.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return fmt.Errorf("close store: %w", ErrClosed)
	}
	db.closed = true
	close(db.reqs)
	db.mu.Unlock()
	<-db.done
	err := errors.Join(db.closeWriter(), db.r.Close())
	db.unlock()
	if err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// unlock lets another process open the database.
func (db *DB) unlock() {
	if db.lock != nil {
		_ = db.lock.Close() // closing the file drops its flock
		db.lock = nil
	}
}

// closeWriter closes the write statements and the writer connection.
func (db *DB) closeWriter() error {
	var errs []error
	if db.ws != nil {
		errs = append(errs, db.ws.close())
	}
	if db.conn != nil {
		errs = append(errs, db.conn.Close())
	}
	errs = append(errs, db.w.Close())
	return errors.Join(errs...)
}

// usable is ErrClosed after Close, ErrStalled while a write runs past
// its deadline, else nil: every call checks it first.
func (db *DB) usable() error {
	db.mu.RLock()
	closed := db.closed
	db.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	if db.stall.overdue() {
		return ErrStalled
	}
	return nil
}
