package sqlite

import (
	"context"
	"fmt"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/store"
	"github.com/carnot-dc/carnot/internal/store/rows"
)

// FairShare returns the saved fair-share history, sorted by tenant.
func (db *DB) FairShare(ctx context.Context) ([]model.Usage, error) {
	const op = "read fair share"
	if err := db.usable(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	out, err := queryAll(ctx, db, rows.ScanFairShare,
		"SELECT tenant, gpu_seconds, as_of FROM fair_share ORDER BY tenant")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}

// SaveFairShare replaces the saved fair-share history by us, in one
// transaction.
func (db *DB) SaveFairShare(ctx context.Context, us []model.Usage) error {
	const op = "save fair share"
	if err := store.ValidFairShare(us); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return db.submit(ctx, op, func(w *writeStmts) error {
		c := context.Background()
		if _, err := w.conn.ExecContext(c, "DELETE FROM fair_share"); err != nil {
			return err
		}
		for _, u := range us {
			if _, err := w.conn.ExecContext(c, "INSERT INTO fair_share (tenant, gpu_seconds, as_of) VALUES (?, ?, ?)",
				u.Tenant, u.GPUSeconds, int64(u.AsOf)); err != nil {
				return err
			}
		}
		return nil
	})
}
