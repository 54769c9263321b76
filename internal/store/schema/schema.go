// Package schema is what the stores' migrations share: reading the
// numbered files NNNN_name.sql of an embedded migrations directory,
// reading the migrations a database records, and deciding from them which
// to apply. Each backend runs them in its own SQL dialect and
// transactions.
package schema

import (
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
)

// Migration is one numbered schema change.
type Migration struct {
	Version int
	Name    string // the file name
	SQL     string
}

// fileName is a migration's file name: four digits, an underscore, a
// lower-case name.
var fileName = regexp.MustCompile(`^([0-9]{4})_([a-z0-9_]+)\.sql$`)

// Load reads the migrations in fsys's migrations directory and checks
// that they are numbered 1, 2, 3… without gaps or duplicates. A migration,
// once released, never changes: a change to the schema is a new file.
func Load(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		m := fileName.FindStringSubmatch(e.Name())
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
		ms = append(ms, Migration{Version: v, Name: e.Name(), SQL: string(b)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	for i, m := range ms {
		if i > 0 && ms[i-1].Version == m.Version {
			return nil, fmt.Errorf("migrations %q and %q have the same number", ms[i-1].Name, m.Name)
		}
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %q: expected number %04d (numbers start at 1, without gaps)", m.Name, i+1)
		}
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("read migrations: none found")
	}
	return ms, nil
}

// Pending is the migrations of ms a database that recorded applied (the
// names, in version order) lacks. A database with more migrations than
// ms, or another name for one of them, is an error: it belongs to another
// version of the program.
func Pending(applied []string, ms []Migration) ([]Migration, error) {
	if len(applied) > len(ms) {
		return nil, fmt.Errorf("schema version %d is newer than this program's (%d): run a newer carnot", len(applied), len(ms))
	}
	for i, name := range applied {
		if name != ms[i].Name {
			return nil, fmt.Errorf("schema migration %d was %q, this program's is %q", i+1, name, ms[i].Name)
		}
	}
	return ms[len(applied):], nil
}

// AppliedQuery reads the migrations a database records, in either
// dialect; Applied reads its rows.
const AppliedQuery = "SELECT version, name FROM schema_migrations ORDER BY version"

// Rows is the part of a query's rows (database/sql's or pgx's) that
// Applied reads.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// Applied reads the rows of AppliedQuery: the names of the migrations
// recorded, in order. It fails unless they are numbered 1, 2, 3…
func Applied(r Rows) ([]string, error) {
	var names []string
	for r.Next() {
		var v int
		var name string
		if err := r.Scan(&v, &name); err != nil {
			return nil, fmt.Errorf("read schema migrations: %w", err)
		}
		if v != len(names)+1 {
			return nil, fmt.Errorf("read schema migrations: found %d where %d was expected", v, len(names)+1)
		}
		names = append(names, name)
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("read schema migrations: %w", err)
	}
	return names, nil
}
