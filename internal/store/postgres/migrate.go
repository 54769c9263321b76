package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"

	"github.com/carnot-dc/carnot/internal/store/schema"
)

// migrationFS holds the schema migrations, NNNN_name.sql, applied in
// order of NNNN. A migration, once released, never changes: a change to
// the schema is a new file.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one numbered schema change.
type migration = schema.Migration

// migrations reads and checks the migrations of fsys (schema.Load).
func migrations(fsys fs.FS) ([]migration, error) { return schema.Load(fsys) }

// migrate applies to the database the migrations of fsys it lacks and
// records them in schema_migrations, all in one transaction that holds
// the migration advisory lock: a second server starting at once waits,
// then finds the schema up to date.
func migrate(ctx context.Context, conn *pgx.Conn, fsys fs.FS) error {
	ms, err := migrations(fsys)
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLockKey); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
		)`
		if _, err := tx.Exec(ctx, create); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		have, err := applied(ctx, tx)
		if err != nil {
			return err
		}
		todo, err := schema.Pending(have, ms)
		if err != nil {
			return err
		}
		for _, m := range todo {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
				return fmt.Errorf("migration %s: record: %w", m.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// applied returns the names of the migrations recorded, in order
// (schema.Applied).
func applied(ctx context.Context, tx pgx.Tx) ([]string, error) {
	rows, err := tx.Query(ctx, schema.AppliedQuery)
	if err != nil {
		return nil, fmt.Errorf("read schema migrations: %w", err)
	}
	defer rows.Close()
	return schema.Applied(rows)
}
