package agent

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
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
	path := filepath.Join(t.TempDir(), "0.stdout")
	l, w, err := newStreamLog(path, 64, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full to fill a disk with: %v", err)
	}
	const lost = 4096
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
	l.write(after) // the loss is mended, then the file (past 64 bytes) rotated
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
