package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// migrationFS holds the schema migrations, NNNN_name.sql, applied in
// order of NNNN. A migration, once released, never changes: a change to
// the schema is a new file.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one numbered schema change.
type migration struct {
	version int
	name    string // the file name
	sql     string
}

// migrationName is a migration's file name: four digits, an underscore, a
// lower-case name.
var migrationName = regexp.MustCompile(`^([0-9]{4})_([a-z0-9_]+)\.sql$`)

// migrations reads the migrations in fsys's migrations directory and
// checks that they are numbered 1, 2, 3… without gaps or duplicates.
func migrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			return nil, fmt.Errorf("migration %q: name is not NNNN_name.sql", e.Name())
		}
		v, err := strconv.Atoi(m[1])
		if err != nil {
			return nil, fmt.Errorf("migration %q: %w", e.Name(), err)
		}
		b, err := fs.ReadFile(fsys, "migrations/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %q: %w", e.Name(), err)
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i, m := range ms {
		if i > 0 && ms[i-1].version == m.version {
			return nil, fmt.Errorf("migrations %q and %q have the same number", ms[i-1].name, m.name)
		}
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %q: expected number %04d (numbers start at 1, without gaps)", m.name, i+1)
		}
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("read migrations: none found")
	}
	return ms, nil
}

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
		if len(have) > len(ms) {
			return fmt.Errorf("schema version %d is newer than this program's (%d): run a newer carnot", len(have), len(ms))
		}
		for i, name := range have {
			if name != ms[i].name {
				return fmt.Errorf("schema migration %d was %q, this program's is %q", i+1, name, ms[i].name)
			}
		}
		for _, m := range ms[len(have):] {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
				return fmt.Errorf("migration %s: record: %w", m.name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// applied returns the names of the migrations recorded, in order; it
// fails unless they are numbered 1, 2, 3…
func applied(ctx context.Context, tx pgx.Tx) ([]string, error) {
	rows, err := tx.Query(ctx, "SELECT version, name FROM schema_migrations ORDER BY version")
	if err != nil {
		return nil, fmt.Errorf("read schema migrations: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var v int
		var name string
		if err := rows.Scan(&v, &name); err != nil {
			return nil, fmt.Errorf("read schema migrations: %w", err)
		}
		if v != len(names)+1 {
			return nil, fmt.Errorf("read schema migrations: found %d where %d was expected", v, len(names)+1)
		}
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read schema migrations: %w", err)
	}
	return names, nil
}
