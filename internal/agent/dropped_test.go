package agent

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A rotation writes the stream's .dropped count through a file beside
// it and a rename, never in place: a crash mid-write leaves the old
// count or the new one, not a part of it. (The old count's inode, linked
// elsewhere, keeps the old count: an in-place write would change it.)
func TestDroppedCountIsReplacedWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.stdout")
	l, w, err := newStreamLog(path, 10, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	defer l.close()
	l.write([]byte(strings.Repeat("a", 25))) // two rotations: 10 bytes dropped
	old := filepath.Join(dir, "old")
	if err := os.Link(path+droppedSuffix, old); err != nil {
		t.Fatal(err)
	}
	l.write([]byte(strings.Repeat("b", 10))) // a third: 20 dropped
	if b, _ := os.ReadFile(path + droppedSuffix); string(b) != "20\n" {
		t.Errorf("%s holds %q after three rotations, want %q", droppedSuffix, b, "20\n")
	}
	if b, _ := os.ReadFile(old); string(b) != "10\n" {
		t.Errorf("the replaced %s file now holds %q, want %q: it was written in place", droppedSuffix, b, "10\n")
	}
	if _, err := os.Stat(path + droppedSuffix + tmpSuffix); err == nil {
		t.Errorf("the temporary file of %s is left behind", droppedSuffix)
	}
}

// A .dropped file that does not hold a whole count (torn by a crash of
// an older agent, or of the disk) is not taken for a count: its digits
// would shift every offset served.
func TestTornDroppedCountIsNotRead(t *testing.T) {
	for _, torn := range []string{"", "1", "12", "12x\n", "-5\n", "99999999999999999999\n"} {
		path := filepath.Join(t.TempDir(), "0.stdout")
		if err := os.WriteFile(path, []byte("end\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path+droppedSuffix, []byte(torn), 0o600); err != nil {
			t.Fatal(err)
		}
		v, err := openFinishedView(path)
		if err != nil {
			t.Fatalf("%q: %v", torn, err)
		}
		v.close()
		if v.dropped != 0 || !v.droppedUnknown {
			t.Errorf("a %s file holding %q read as %d bytes dropped (unknown %v), want it unknown", droppedSuffix, torn, v.dropped, v.droppedUnknown)
		}
	}
	path := filepath.Join(t.TempDir(), "0.stdout")
	_ = os.WriteFile(path, []byte("end\n"), 0o600)
	_ = os.WriteFile(path+droppedSuffix, []byte("1234567\n"), 0o600)
	v, err := openFinishedView(path)
	if err != nil {
		t.Fatal(err)
	}
	v.close()
	if v.dropped != 1234567 || v.droppedUnknown {
		t.Errorf("a whole count read as %d (unknown %v), want 1234567", v.dropped, v.droppedUnknown)
	}
}
