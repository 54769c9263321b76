package agent

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Bytes of a task's output the agent could not write to its log (a full
// disk) keep their place in the log's offsets, which are those of the
// whole output: what follows them is served at its own offset, and the
// log says, where they were, that they are lost. Before, the next bytes
// written took their place, and every later offset was short by them.
func TestLostLogBytesKeepTheirPlace(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lost   int
		marked bool // the gap is long enough to say so in words
	}{
		{"short", 10, false},
		{"long", 4096, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "0.stdout")
			l, w, err := newStreamLog(path, 0, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			w.Close()
			full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
			if err != nil {
				t.Skipf("no /dev/full to fill a disk with: %v", err)
			}
			before, after := []byte("before\n"), []byte("after\n")
			l.write(before)
			l.mu.Lock()
			file := l.f
			l.f = full // every write now fails with ENOSPC
			l.mu.Unlock()
			l.write(bytes.Repeat([]byte("x"), tc.lost))
			l.mu.Lock()
			l.f = file // the disk has room again
			l.mu.Unlock()
			full.Close()
			l.write(after)
			l.close()

			v, err := openFinishedView(path)
			if err != nil {
				t.Fatal(err)
			}
			defer v.close()
			at := int64(len(before) + tc.lost)
			var out bytes.Buffer
			if end, err := v.copyFrom(&out, at); err != nil || out.String() != string(after) || end != at+int64(len(after)) {
				t.Errorf("from offset %d the log serves %q up to %d (%v), want %q up to %d: the lost bytes took no room",
					at, out.String(), end, err, after, at+int64(len(after)))
			}
			out.Reset()
			if _, err := v.copyFrom(&out, 0); err != nil {
				t.Fatal(err)
			}
			word := fmt.Sprintf("[carnot: %d bytes of stdout were lost", tc.lost)
			if got := strings.Contains(out.String(), word); got != tc.marked {
				t.Errorf("the log holds %q; says %q: %v, want %v", out.String(), word, got, tc.marked)
			}
		})
	}
}

// Bytes lost just before a rotation keep their place in the file that
// becomes .1: its size is the count the agent served its offsets by, so
// that once the task ended (its files read as they are on disk) the
// output after the loss is still served at its own offset. Before, the
// hole was only seeked over, never written: the rotation renamed a file
// that ended at the marker line, and every later offset was short by
// the rest of the loss.
func TestLostLogBytesKeepTheirPlaceAcrossARotation(t *testing.T) {
	const lost = 4096
	before, after := []byte("before\n"), []byte("after\n")
	path := filepath.Join(t.TempDir(), "0.stdout")
	// The limit is where the loss ends: the next write rotates first.
	l, w, err := newStreamLog(path, int64(len(before)+lost), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full to fill a disk with: %v", err)
	}
	l.write(before)
	l.mu.Lock()
	file := l.f
	l.f = full // every write now fails with ENOSPC
	l.mu.Unlock()
	l.write(bytes.Repeat([]byte("x"), lost))
	l.mu.Lock()
	l.f = file // the disk has room again
	l.mu.Unlock()
	full.Close()
	l.write(after) // the loss is mended, then the file (at its limit) rotated
	l.close()

	st, err := os.Stat(path + prevSuffix)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(len(before) + lost); st.Size() != want {
		t.Errorf("the rotated file holds %d bytes; want %d (the output before the rotation, the loss included)", st.Size(), want)
	}
	v, err := openFinishedView(path)
	if err != nil {
		t.Fatal(err)
	}
	defer v.close()
	at := int64(len(before) + lost)
	var out bytes.Buffer
	if end, err := v.copyFrom(&out, at); err != nil || out.String() != string(after) || end != at+int64(len(after)) {
		t.Errorf("from offset %d the log serves %q up to %d (%v), want %q up to %d",
			at, out.String(), end, err, after, at+int64(len(after)))
	}
}

// Bytes lost are rotated as the output they stand for would have been:
// a loss longer than the size limit leaves at most twice the limit kept
// (of NUL bytes, the end of the loss), what is before counted dropped,
// and the output after the loss at its own offset. Before, the whole
// loss was one hole in the current file: a log of a limit of 64 bytes
// served 6,400 NUL bytes (and one of 64 MiB, as many GiB as the disk was
// full for).
func TestLostLogBytesAreRotated(t *testing.T) {
	const max = 64
	for _, lost := range []int{max*100 + 10, max * 100, 2*max + 1, max - 3} {
		t.Run(fmt.Sprint(lost), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "0.stdout")
			l, w, err := newStreamLog(path, max, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			w.Close()
			full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
			if err != nil {
				t.Skipf("no /dev/full to fill a disk with: %v", err)
			}
			before, after := []byte("before\n"), []byte("after\n")
			l.write(before)
			l.mu.Lock()
			file := l.f
			l.f = full // every write now fails with ENOSPC
			l.mu.Unlock()
			l.write(bytes.Repeat([]byte("x"), lost))
			l.mu.Lock()
			l.f = file // the disk has room again
			l.mu.Unlock()
			full.Close()
			l.write(after)
			if gen := l.rotations(); gen > 8 {
				t.Errorf("the loss took %d rotations (each a synced write), want at most 8", gen)
			}
			l.close()

			kept := int64(0)
			for _, p := range []string{path + prevSuffix, path} {
				if st, err := os.Stat(p); err == nil {
					kept += st.Size()
				}
			}
			if kept > 2*max {
				t.Errorf("%d bytes kept, want at most twice the limit, %d", kept, 2*max)
			}
			v, err := openFinishedView(path)
			if err != nil {
				t.Fatal(err)
			}
			defer v.close()
			total := int64(len(before) + lost + len(after))
			if v.dropped+kept != total || v.droppedUnknown {
				t.Errorf("%d bytes dropped (unknown %v) and %d kept, want %d in all", v.dropped, v.droppedUnknown, kept, total)
			}
			at := int64(len(before) + lost)
			var out bytes.Buffer
			if end, err := v.copyFrom(&out, at); err != nil || out.String() != string(after) || end != total {
				t.Errorf("from offset %d the log serves %q up to %d (%v), want %q up to %d",
					at, out.String(), end, err, after, total)
			}
		})
	}
}

// fullDisk is a log file on a full disk: no write finds room, but the
// file can still be extended over a hole, which takes none.
type fullDisk struct{ logFile }

func (fullDisk) Write([]byte) (int, error) { return 0, syscall.ENOSPC }

// Bytes lost at the very end of the output, the disk still full when
// the task ends, keep their place too: the log is as long as the whole
// output (a hole where they were, no room to say so in words), and its
// end is the output's. Before, they were only counted, then forgotten
// as the file closed: the log ended short of the output by them.
func TestLostLogBytesAtTheEndKeepTheirPlace(t *testing.T) {
	for _, tc := range []struct {
		name       string
		max        int64
		lost       int
		rotatedMax bool // the loss goes through rotations
	}{
		{"no limit", 0, 4096, false},
		{"within the limit", 8192, 4096, false},
		{"rotated", 64, 64*10 + 5, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "0.stdout")
			l, w, err := newStreamLog(path, tc.max, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			w.Close()
			before := []byte("before\n")
			l.write(before)
			l.mu.Lock()
			l.f = fullDisk{l.f}
			l.mu.Unlock()
			l.write(bytes.Repeat([]byte("x"), tc.lost))
			l.close() // the disk still full

			v, err := openFinishedView(path)
			if err != nil {
				t.Fatal(err)
			}
			defer v.close()
			var out bytes.Buffer
			end, err := v.copyFrom(&out, 0)
			if err != nil {
				t.Fatal(err)
			}
			total := int64(len(before) + tc.lost)
			if end != total {
				t.Errorf("the log ends at %d, want %d (the output, its last %d bytes lost)", end, total, tc.lost)
			}
			if tc.max > 0 && int64(out.Len()) > 2*tc.max {
				t.Errorf("%d bytes kept, want at most twice the limit, %d", out.Len(), 2*tc.max)
			}
			if !tc.rotatedMax && !bytes.HasPrefix(out.Bytes(), before) {
				t.Errorf("the log begins %q, want %q", out.Bytes()[:min(out.Len(), 20)], before)
			}
		})
	}
}
