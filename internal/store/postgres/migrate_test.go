package postgres

import (
	"io/fs"
	"strings"
	"testing"
)

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
