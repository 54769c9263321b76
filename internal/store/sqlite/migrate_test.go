package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// files is a migrations directory holding the named files.
func files(named map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{"migrations": {Mode: fs.ModeDir}}
	for name, body := range named {
		fsys["migrations/"+name] = &fstest.MapFile{Data: []byte(body)}
	}
	return fsys
}

func TestEmbeddedMigrations(t *testing.T) {
	ms, err := migrations(migrationFS)
	if err != nil {
		t.Fatalf("embedded migrations: %v", err)
	}
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != len(entries) {
		t.Fatalf("%d migrations of %d files", len(ms), len(entries))
	}
	for i, m := range ms {
		if m.Version != i+1 || strings.TrimSpace(m.SQL) == "" {
			t.Errorf("migration %d: %+v", i, m)
		}
	}
}

// rawConn opens a connection to a new database file, without the store.
func rawConn(t *testing.T) *sql.Conn {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(filepath.Join(t.TempDir(), "m.db"), false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// dump returns the database's schema and recorded migrations.
func dump(t *testing.T, conn *sql.Conn) []string {
	t.Helper()
	rows, err := conn.QueryContext(context.Background(), `
		SELECT type || ' ' || name || ': ' || COALESCE(sql, '') FROM sqlite_schema
		UNION ALL SELECT 'migration ' || version || ' ' || name FROM schema_migrations
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMigrateTwiceIsNoOp(t *testing.T) {
	ctx := context.Background()
	conn := rawConn(t)
	if err := migrate(ctx, conn, migrationFS); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	first := dump(t, conn)
	if err := migrate(ctx, conn, migrationFS); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	if diff := cmp.Diff(first, dump(t, conn)); diff != "" {
		t.Errorf("second migrate changed the schema (-first +second):\n%s", diff)
	}
	ms, _ := migrations(migrationFS)
	var n int
	if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil || n != len(ms) {
		t.Errorf("schema_migrations holds %d rows (%v), want %d", n, err, len(ms))
	}
}

func TestMigrateAppliesOnlyNew(t *testing.T) {
	ctx := context.Background()
	conn := rawConn(t)
	one := map[string]string{"0001_a.sql": "CREATE TABLE a (x);"} // fails if run twice
	if err := migrate(ctx, conn, files(one)); err != nil {
		t.Fatalf("migrate 1: %v", err)
	}
	one["0002_b.sql"] = "CREATE TABLE b (y); INSERT INTO b VALUES (1);"
	if err := migrate(ctx, conn, files(one)); err != nil {
		t.Fatalf("migrate 1, 2: %v", err)
	}
	var y int
	if err := conn.QueryRowContext(ctx, "SELECT y FROM b").Scan(&y); err != nil || y != 1 {
		t.Errorf("table b: %d, %v", y, err)
	}

	// A database newer than the program, or one that ran other
	// migrations, is refused.
	delete(one, "0002_b.sql")
	if err := migrate(ctx, conn, files(one)); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("migrate with fewer migrations = %v, want a newer-schema error", err)
	}
	renamed := map[string]string{"0001_z.sql": "", "0002_b.sql": ""}
	if err := migrate(ctx, conn, files(renamed)); err == nil {
		t.Error("migrate with renamed migrations succeeded, want an error")
	}
}

func TestMigrationFailsWhole(t *testing.T) {
	ctx := context.Background()
	conn := rawConn(t)
	bad := map[string]string{
		"0001_a.sql": "CREATE TABLE a (x);",
		"0002_b.sql": "CREATE TABLE b (y); THIS IS NOT SQL;",
	}
	if err := migrate(ctx, conn, files(bad)); err == nil || !strings.Contains(err.Error(), "0002_b.sql") {
		t.Fatalf("migrate = %v, want an error naming 0002_b.sql", err)
	}
	var n int
	if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'b'").Scan(&n); err != nil || n != 0 {
		t.Errorf("table b exists (%d, %v): the failed migration was not rolled back", n, err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&n); err != nil || n != 1 {
		t.Errorf("schema version %d (%v), want 1", n, err)
	}
}
