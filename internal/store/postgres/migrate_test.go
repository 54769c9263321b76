package postgres

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
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
		if m.version != i+1 || strings.TrimSpace(m.sql) == "" {
			t.Errorf("migration %d: %+v", i, m)
		}
	}
}

func TestMigrationsRejected(t *testing.T) {
	ok := "CREATE TABLE t (x INTEGER);"
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"duplicate", map[string]string{"0001_a.sql": ok, "0001_b.sql": ok}, "same number"},
		{"gap", map[string]string{"0001_a.sql": ok, "0003_c.sql": ok}, "expected number 0002"},
		{"from zero", map[string]string{"0000_a.sql": ok}, "expected number 0001"},
		{"no number", map[string]string{"init.sql": ok}, "not NNNN_name.sql"},
		{"short number", map[string]string{"1_init.sql": ok}, "not NNNN_name.sql"},
		{"upper case", map[string]string{"0001_Init.sql": ok}, "not NNNN_name.sql"},
		{"extension", map[string]string{"0001_init.txt": ok}, "not NNNN_name.sql"},
		{"empty", map[string]string{}, "none found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := migrations(files(tc.files))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("migrations(%v) = %v, want an error saying %q", tc.files, err, tc.want)
			}
		})
	}
}
