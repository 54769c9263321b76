package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"time"

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

// migrate applies to the database the migrations of fsys it lacks, each
// in its own transaction, and records them in schema_migrations. Unlike
// PostgreSQL's, it takes no lock: one process holds the file (lock.go),
// so no other server migrates it at once.
func migrate(ctx context.Context, conn *sql.Conn, fsys fs.FS) error {
	ms, err := migrations(fsys)
	if err != nil {
		return err
	}
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL
	)`
	if _, err := conn.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	have, err := applied(ctx, conn)
	if err != nil {
		return err
	}
	todo, err := schema.Pending(have, ms)
	if err != nil {
		return err
	}
	for _, m := range todo {
		if err := applyMigration(ctx, conn, m); err != nil {
			return err
		}
	}
	return nil
}

// applied returns the names of the migrations recorded, in order
// (schema.Applied).
func applied(ctx context.Context, conn *sql.Conn) ([]string, error) {
	rows, err := conn.QueryContext(ctx, schema.AppliedQuery)
	if err != nil {
		return nil, fmt.Errorf("read schema migrations: %w", err)
	}
	defer rows.Close()
	return schema.Applied(rows)
}

// applyMigration runs one migration and records it, in one transaction.
func applyMigration(ctx context.Context, conn *sql.Conn, m migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %s: begin: %w", m.Name, err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("migration %s: %w", m.Name, err)
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	_, err = tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", m.Version, m.Name, now)
	if err != nil {
		return fmt.Errorf("migration %s: record: %w", m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %s: commit: %w", m.Name, err)
	}
	return nil
}
