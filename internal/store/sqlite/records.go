package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
	"github.com/carnot-dc/carnot/internal/store/rows"
)

// PutRecords creates, replaces or (nil Doc) deletes records and appends
// events, in one transaction.
func (db *DB) PutRecords(ctx context.Context, recs []store.Record, events []api.Event) error {
	const op = "put records"
	for _, r := range recs {
		if err := store.ValidRecord(r); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	return db.submitWithEvents(ctx, op, events, func(w *writeStmts) error {
		c := context.Background()
		for _, r := range recs {
			var err error
			if r.Doc == nil {
				_, err = w.conn.ExecContext(c, "DELETE FROM records WHERE kind = ? AND key = ?", r.Kind, r.Key)
			} else {
				_, err = w.conn.ExecContext(c, `INSERT INTO records (kind, key, doc) VALUES (?, ?, ?)
					ON CONFLICT (kind, key) DO UPDATE SET doc = excluded.doc`, r.Kind, r.Key, r.Doc)
			}
			if err != nil {
				return fmt.Errorf("record %s/%s: %w", r.Kind, r.Key, err)
			}
		}
		return nil
	})
}

// submitWithEvents runs write and then appends events in one
// transaction, and sets each event's Seq once it is committed.
func (db *DB) submitWithEvents(ctx context.Context, op string, events []api.Event, write func(*writeStmts) error) error {
	erows, err := encodeEvents(events)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	seqs := make([]int64, len(events))
	err = db.submit(ctx, op, func(w *writeStmts) error {
		if err := write(w); err != nil {
			return err
		}
		for i, ev := range erows {
			seq, err := w.appendEvent(ev)
			if err != nil {
				return err
			}
			seqs[i] = seq
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, seq := range seqs {
		events[i].Seq = seq
	}
	return nil
}

// Record returns the document of one record, or store.ErrNotFound.
func (db *DB) Record(ctx context.Context, kind, key string) ([]byte, error) {
	op := fmt.Sprintf("read record %s/%s", kind, key)
	if err := db.usable(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var doc []byte
	err := db.r.QueryRowContext(ctx, "SELECT doc FROM records WHERE kind = ? AND key = ?", kind, key).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%s: %w", op, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return doc, nil
}

// KeyedJob returns the ID of the job created with tenant's idempotency
// key, or store.ErrNotFound.
func (db *DB) KeyedJob(ctx context.Context, tenant, key string) (string, error) {
	const op = "read idempotency key"
	if err := db.usable(); err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	var id string
	err := db.r.QueryRowContext(ctx, "SELECT job_id FROM idempotency WHERE tenant = ? AND key = ?", tenant, key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%s: %w", op, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	return id, nil
}

// Records returns every record of a kind, sorted by key.
func (db *DB) Records(ctx context.Context, kind string) ([]store.Record, error) {
	op := "list records " + kind
	if err := db.usable(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	out, err := queryAll(ctx, db, rows.ScanRecords(kind),
		"SELECT key, doc FROM records WHERE kind = ? ORDER BY key", kind)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}
