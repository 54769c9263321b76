package schema

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

func TestMigrationsRejected(t *testing.T) {
	ok := "CREATE TABLE t (x);"
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
		{"dash", map[string]string{"0001-init.sql": ok}, "not NNNN_name.sql"},
		{"upper case", map[string]string{"0001_Init.sql": ok}, "not NNNN_name.sql"},
		{"extension", map[string]string{"0001_init.txt": ok}, "not NNNN_name.sql"},
		{"letters", map[string]string{"abcd_init.sql": ok}, "not NNNN_name.sql"},
		{"empty", map[string]string{}, "none found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(files(tc.files))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load(%v) = %v, want an error saying %q", tc.files, err, tc.want)
			}
		})
	}
}

func TestPending(t *testing.T) {
	ms, err := Load(files(map[string]string{"0001_a.sql": "x", "0002_b.sql": "y"}))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := Pending([]string{"0001_a.sql"}, ms); err != nil || len(p) != 1 || p[0].Name != "0002_b.sql" {
		t.Errorf("Pending(a) = %v, %v", p, err)
	}
	if _, err := Pending([]string{"0001_z.sql"}, ms); err == nil || !strings.Contains(err.Error(), `was "0001_z.sql"`) {
		t.Errorf("renamed: %v", err)
	}
	if _, err := Pending([]string{"0001_a.sql", "0002_b.sql", "0003_c.sql"}, ms); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("newer: %v", err)
	}
}
