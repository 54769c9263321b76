package agent

import (
	"bytes"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// A loss mended with rotation (and its shortcut, skipHolesLocked) keeps
// exactly what writing the output it stands for would have kept: the
// files hold the end of the whole output (the marker line, when it
// fits, then NUL bytes in place of the loss), at most twice the limit,
// and what is before is counted dropped. Checked on random sizes
// against that whole output, built naively.
func TestLostLogBytesMatchTheWholeOutput(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for i := range 60 {
		max := int64(16 + rng.IntN(300))
		before := bytes.Repeat([]byte("b"), rng.IntN(200))
		after := bytes.Repeat([]byte("a"), 1+rng.IntN(200))
		lost := 1 + rng.IntN(5000)
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
		l.write(before)
		l.mu.Lock()
		file, midLine := l.f, l.midLine
		l.f = full
		l.mu.Unlock()
		l.write(bytes.Repeat([]byte("x"), lost))
		l.mu.Lock()
		l.f = file
		l.mu.Unlock()
		full.Close()
		l.write(after)
		l.close()

		whole := append([]byte(nil), before...)
		if line := lostLine("stdout", int64(lost), midLine); len(line) <= lost {
			whole = append(whole, line...)
			whole = append(whole, make([]byte, lost-len(line))...)
		} else {
			whole = append(whole, make([]byte, lost)...)
		}
		whole = append(whole, after...)

		v, err := openFinishedView(path)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		end, err := v.copyFrom(&out, 0)
		v.close()
		if err != nil {
			t.Fatal(err)
		}
		if end != int64(len(whole)) || v.dropped > int64(len(whole)) || !bytes.Equal(out.Bytes(), whole[v.dropped:]) {
			t.Fatalf("#%d (limit %d, %d before, %d lost, %d after): served %d bytes from %d up to %d, want the whole output's %d from there",
				i, max, len(before), lost, len(after), out.Len(), v.dropped, end, len(whole))
		}
		if int64(out.Len()) > 2*max {
			t.Fatalf("#%d (limit %d, %d lost): %d bytes kept, want at most %d", i, max, lost, out.Len(), 2*max)
		}
	}
}
