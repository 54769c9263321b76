package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

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
	return db.writeWithEvents(ctx, op, events, func(b *pgx.Batch) {
		for _, r := range recs {
			var qq *pgx.QueuedQuery
			if r.Doc == nil {
				qq = b.Queue("DELETE FROM records WHERE kind = $1 AND key = $2", r.Kind, r.Key)
			} else {
				qq = b.Queue(`INSERT INTO records (kind, key, doc) VALUES ($1, $2, $3)
					ON CONFLICT (kind, key) DO UPDATE SET doc = excluded.doc`, r.Kind, r.Key, r.Doc)
			}
			qq.Fn = func(br pgx.BatchResults) error {
				if _, err := br.Exec(); err != nil {
					return fmt.Errorf("record %s/%s: %w", r.Kind, r.Key, err)
				}
				return nil
			}
		}
	})
}

// writeWithEvents queues write's statements and then events in one
// transaction, and sets each event's Seq once it is committed.
func (db *DB) writeWithEvents(ctx context.Context, op string, events []api.Event, write func(*pgx.Batch)) error {
	erows, err := encodeEvents(events)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	seqs := make([]int64, len(events))
	err = db.write(ctx, op, func(b *pgx.Batch, _ *error) {
		write(b)
		for i, ev := range erows {
			queueEvent(b, ev, &seqs[i])
		}
	}, nil)
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
	leave, err := db.enter(op)
	if err != nil {
		return nil, err
	}
	defer leave()
	if unstorable(kind, key) {
		return nil, fmt.Errorf("%s: %w", op, store.ErrNotFound)
	}
	var doc []byte
	err = db.pool.QueryRow(ctx, "SELECT doc FROM records WHERE kind = $1 AND key = $2", kind, key).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
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
	leave, err := db.enter(op)
	if err != nil {
		return "", err
	}
	defer leave()
	if unstorable(tenant, key) {
		return "", fmt.Errorf("%s: %w", op, store.ErrNotFound)
	}
	var id string
	err = db.pool.QueryRow(ctx, selectKey, tenant, key).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("%s: %w", op, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	return id, nil
}

// Records returns every record of a kind, sorted by key (bytewise).
func (db *DB) Records(ctx context.Context, kind string) ([]store.Record, error) {
	op := "list records " + kind
	leave, err := db.enter(op)
	if err != nil {
		return nil, err
	}
	defer leave()
	if unstorable(kind) {
		return []store.Record{}, nil // no record has such a kind
	}
	out, err := queryAll(ctx, db, rows.ScanRecords(kind),
		`SELECT key, doc FROM records WHERE kind = $1 ORDER BY key COLLATE "C"`, kind)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}
