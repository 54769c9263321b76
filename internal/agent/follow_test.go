package agent

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// gapRE matches a gap line (logs.go) and captures its byte count, its
// stream and the offset the output goes on at.
var gapRE = regexp.MustCompile(`\[carnot: (\d+) bytes of (\w+) were dropped by log rotation; the output goes on at byte (\d+)\]\n`)

// checkGaps checks that got is want from byte start with the gap lines
// where bytes of it are missing, each on a line of its own and saying
// truly what is missing; it returns how many gaps there are.
func checkGaps(t *testing.T, got, want string, start int) int {
	t.Helper()
	pos, gaps := start, 0
	for {
		m := gapRE.FindStringSubmatchIndex(got)
		if m == nil {
			if got != want[pos:] {
				t.Fatalf("after byte %d: %d bytes, want the %d bytes to the end of the output", pos, len(got), len(want)-pos)
			}
			return gaps
		}
		n, _ := strconv.Atoi(got[m[2]:m[3]])
		to, _ := strconv.Atoi(got[m[6]:m[7]])
		from := to - n
		if stream := got[m[4]:m[5]]; stream != "stdout" || n <= 0 || from < pos || to > len(want) {
			t.Fatalf("gap line %q after byte %d of %d", got[m[0]:m[1]], pos, len(want))
		}
		before := want[pos:from]
		if !strings.HasSuffix(before, "\n") {
			before += "\n" // the gap line starts a line of its own
		}
		if got[:m[0]] != before {
			t.Fatalf("before the gap line %q: %d bytes, want bytes %d to %d of the output and a newline",
				got[m[0]:m[1]], m[0], pos, from)
		}
		pos, got = to, got[m[1]:]
		gaps++
	}
}

// A follower that falls behind a fast writer by more than rotation keeps
// is told so where it happens: a gap line saying how many bytes are
// missing and at which byte the output goes on, and it keeps following
// to the end.
func TestSlowFollowerIsToldOfTheGap(t *testing.T) {
	const limit = 64 << 10
	srv := newFakeServer()
	a := startAgent(t, srv, retain(Retention{LogMaxBytes: limit}))
	var out []byte
	for i := int64(1); i <= 2_000_000; i++ {
		out = append(strconv.AppendInt(out, i, 10), '\n')
	}
	want := string(out) // 14,888,896 bytes: more than the sockets between writer and reader hold
	task := sh("j-fast", 0, `seq 1 2000000; exec sleep 30`, nil)
	srv.assign(task)
	srv.waitStatus(t, "j-fast", 0, 1, running)

	hs := httptest.NewServer(a.Handler())
	defer hs.Close()
	// A small receive buffer: the reader's socket holds little of what
	// it does not read.
	dialer := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	hc := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", hs.URL+api.AgentLogsPath+"?job=j-fast&replica=0&attempt=1&follow=true", nil)
	req.Header.Set("Authorization", "Bearer "+testLogsToken)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	head := make([]byte, 1000)
	if _, err := io.ReadFull(resp.Body, head); err != nil {
		t.Fatal(err)
	}

	// The reader pauses until the whole output is written.
	dir := filepath.Join(a.cfg.DataDir, "logs", "j-fast", "1")
	written := func() int64 {
		b, _ := os.ReadFile(filepath.Join(dir, "0.stdout.dropped"))
		n, _, _ := parseDropped(b)
		for _, f := range []string{"0.stdout.1", "0.stdout"} {
			if st, err := os.Stat(filepath.Join(dir, f)); err == nil {
				n += st.Size()
			}
		}
		return n
	}
	eventually(t, 20*time.Second, func() bool { return written() == int64(len(want)) },
		"the whole output written: %d of %d bytes", written(), len(want))
	task.Stop = true
	srv.assign(task)

	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("following to the end: %v", err)
	}
	got := string(head) + string(rest)
	start, _ := strconv.Atoi(resp.Header.Get(api.LogDroppedHeader)) // dropped before the reader came
	if gaps := checkGaps(t, got, want, start); gaps == 0 {
		t.Fatalf("a follower %d bytes behind a writer that keeps %d: %d bytes, no gap line", len(want)-len(head), 2*limit, len(got))
	}
}
