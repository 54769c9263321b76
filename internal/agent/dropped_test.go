package agent

import (
	"errors"
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
	if b, _ := os.ReadFile(path + droppedSuffix); !strings.HasPrefix(string(b), "20 ") {
		t.Errorf("%s holds %q after three rotations, want 20 bytes dropped", droppedSuffix, b)
	}
	if b, _ := os.ReadFile(old); !strings.HasPrefix(string(b), "10 ") {
		t.Errorf("the replaced %s file now holds %q, want 10 bytes dropped still: it was written in place", droppedSuffix, b)
	}
	if _, err := os.Stat(path + droppedSuffix + tmpSuffix); err == nil {
		t.Errorf("the temporary file of %s is left behind", droppedSuffix)
	}
}

// A .dropped file that does not hold a whole count (torn by a crash of
// an older agent, or of the disk) is not taken for a count: its digits
// would shift every offset served.
func TestTornDroppedCountIsNotRead(t *testing.T) {
	for _, torn := range []string{"", "1", "12", "12x\n", "-5\n", "99999999999999999999\n", "20 123", "20 \n", "20 1x\n"} {
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

// A rotation stopped between writing the count of bytes dropped and
// renaming the files (a crash of the agent; a rename that fails) leaves
// the count ahead of the files by the previous file it was to drop: the
// log of the finished task is still served at the offsets of the whole
// output.
func TestRotationStoppedAfterTheCountKeepsTheOffsets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.stdout")
	l, w, err := newStreamLog(path, 10, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	all := strings.Repeat("a", 10) + strings.Repeat("b", 10) + strings.Repeat("c", 10)
	l.write([]byte(all)) // [0,10) dropped, .1 holds [10,20), the file [20,30)
	rotateHook = func() error { return errors.New("the agent dies here") }
	defer func() { rotateHook = nil }()
	l.write([]byte("d")) // a rotation that writes 20 dropped, then stops
	rotateHook = nil
	l.close()
	all += "d"
	v, err := openFinishedView(path)
	if err != nil {
		t.Fatal(err)
	}
	defer v.close()
	var got strings.Builder
	if _, err := v.copyFrom(&got, 0); err != nil {
		t.Fatal(err)
	}
	if v.dropped != 10 || got.String() != all[10:] {
		t.Errorf("served %q, %d bytes dropped; want %q, 10 dropped", got.String(), v.dropped, all[10:])
	}
	got.Reset()
	if _, err := v.copyFrom(&got, 15); err != nil {
		t.Fatal(err)
	}
	if got.String() != all[15:] {
		t.Errorf("served from offset 15: %q, want %q", got.String(), all[15:])
	}
}
