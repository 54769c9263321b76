package cli

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/client"
)

// flakyLogs serves job a's output the way a server that restarts twice
// does: the first stream breaks mid-line, the second ends cleanly while
// the replica runs on (a graceful shutdown), the third is refused (the
// node has not registered again), the fourth ends with the replica.
type flakyLogs struct {
	mu      sync.Mutex
	queries []string
	gets    int
}

func (f *flakyLogs) handler(t *testing.T) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 201, api.Job{ID: "a", State: api.StatePending})
	})
	mux.HandleFunc("GET /v1/jobs/a", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.gets++
		j := api.Job{ID: "a", State: api.StateRunning, Attempt: 1, Replicas: []api.Replica{{State: api.ReplicaRunning}}}
		if len(f.queries) >= 4 { // the fourth stream ended with the replica
			j.State, j.Replicas[0].State = api.StateSucceeded, api.ReplicaExited
		}
		reply(w, 200, j)
	})
	mux.HandleFunc("GET /v1/jobs/a/logs", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.queries = append(f.queries, r.URL.RawQuery)
		n := len(f.queries)
		f.mu.Unlock()
		const whole = "line 1\nline 2\nline 3\n"
		off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		rest := whole[min(off, len(whole)):]
		switch n {
		case 1: // "line 1\nli", then the connection breaks
			w.Header().Set("Content-Length", strconv.Itoa(len(rest)))
			w.WriteHeader(200)
			w.Write([]byte(rest[:9]))
			w.(http.Flusher).Flush()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			conn.Close()
		case 2: // "ne 2\n", then a clean end
			w.Write([]byte(rest[:5]))
		case 3:
			problem(w, http.StatusServiceUnavailable, "node n1 of replica 0 is not registered or serves no logs")
		default:
			w.Write([]byte(rest))
		}
	})
	return mux
}

// run -f and logs -f ride out a broken stream, a stream the server ended
// while the replica runs and a server that is not ready yet: each line
// once, in order, and the reconnections said on stderr.
func TestFollowReconnects(t *testing.T) {
	defer func(d, p time.Duration) { retryFirst, pollInterval = d, p }(retryFirst, pollInterval)
	retryFirst, pollInterval = time.Millisecond, time.Millisecond
	for _, args := range [][]string{{"run", "-f", "x"}, {"logs", "-f", "a"}} {
		f := &flakyLogs{}
		srv := httptest.NewServer(f.handler(t))
		code, out, errs := carnot(append([]string{args[0], "--server", srv.URL}, args[1:]...)...)
		srv.Close()
		if code != 0 || out != "line 1\nline 2\nline 3\n" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
		if !strings.Contains(errs, "carnot: the output of a: the stream broke: unexpected EOF; reconnecting in 1ms\n") ||
			!strings.Contains(errs, "carnot: the output of a: node n1 of replica 0 is not registered or serves no logs; reconnecting in 1ms\n") {
			t.Errorf("%v: stderr %q: want the reconnections said", args, errs)
		}
		want := []string{"attempt=1&follow=true&replica=0", "attempt=1&follow=true&offset=9&replica=0",
			"attempt=1&follow=true&offset=14&replica=0", "attempt=1&follow=true&offset=14&replica=0", "attempt=1&offset=21&replica=0"}
		if diff := cmp.Diff(want, f.queries); diff != "" {
			t.Errorf("%v: log requests (-want +got):\n%s", args, diff)
		}
	}
}

// The position in the output skips the gap lines the agent puts where
// rotation dropped bytes, and takes the byte they say the output goes
// on at.
func TestPosWriterGapLines(t *testing.T) {
	var out bytes.Buffer
	p := &posWriter{w: &out}
	for _, s := range []string{"abc\nde", "f\n[carnot: 90 bytes of stdout were dropped", " by log rotation; the output goes on at byte 100]\n", "xy"} {
		p.Write([]byte(s))
	}
	if p.pos != 102 {
		t.Errorf("pos %d, want 102 (100 after the gap line, then 2)", p.pos)
	}
	p = &posWriter{w: &out}
	p.Write([]byte("[carnot: a line of the task's own]\n"))
	if p.pos != 35 {
		t.Errorf("pos %d, want 35", p.pos)
	}
}

// A follower that lost its server says it reconnects without telling to
// start one with carnot dev: the server it followed may be any.
func TestEventsFollowReconnectMessage(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + ln.Addr().String()
	ln.Close()
	c, err := client.New(addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	var errOut bytes.Buffer
	if err := followEvents(ctx, c, &eventPrinter{w: io.Discard}, "", 0, &errOut); err != nil {
		t.Fatal(err)
	}
	want := "carnot: the event stream: cannot reach the Carnot server at " + addr + ": connection refused (is the server running?); reconnecting in 1s\n"
	if errOut.String() != want {
		t.Errorf("stderr %q\nwant   %q", errOut.String(), want)
	}
}

// Revoking by name, not ID, says what revoke takes.
func TestTokenRevokeSaysItTakesAnID(t *testing.T) {
	f := newFake(t)
	code, _, errs := carnot("token", "revoke", "--server", f.srv.URL, "bob")
	want := `error: no token "bob"; revoke takes a token's ID: the 16 hex digits after carnot_, as "carnot token list" shows` + "\n"
	if code != ExitFailure || errs != want {
		t.Errorf("exit %d, stderr %q\nwant %q", code, errs, want)
	}
}

// Revoking by the whole token (its secret pasted, as one does with a
// leaked one) revokes its ID, and the secret goes neither to the server
// nor into the output.
func TestTokenRevokeOfAWholeTokenSendsItsIDOnly(t *testing.T) {
	f := newFake(t)
	const id = "3e004a6ebc09c929"
	const secret = "69a3x1HQCi3HxqFuvGCy8Nc8hXJ53GCXg0Ut6smya48"
	_, out, errs := carnot("token", "revoke", "--server", f.srv.URL, "carnot_"+id+"_"+secret)
	if n := len(f.requests("POST", "/v1/tokens/"+id+"/revoke")); n != 1 {
		t.Errorf("POST /v1/tokens/%s/revoke sent %d times, want once", id, n)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, q := range f.reqs {
		if strings.Contains(q.path+q.query+string(q.body), secret) {
			t.Errorf("the token's secret was sent: %s %s?%s %q", q.method, q.path, q.query, q.body)
		}
	}
	if strings.Contains(out+errs, secret) {
		t.Errorf("the token's secret is in the output: stdout %q, stderr %q", out, errs)
	}
}

// Revoking by an ID the server does not know (or that the token may not
// see) says so, not that revoke takes an ID: it was given one.
func TestTokenRevokeOfAnUnknownIDSaysSo(t *testing.T) {
	f := newFake(t)
	code, _, errs := carnot("token", "revoke", "--server", f.srv.URL, "0123456789abcdef")
	want := `error: no token "0123456789abcdef" among those you may see ("carnot token list" shows them)` + "\n"
	if code != ExitFailure || errs != want {
		t.Errorf("exit %d, stderr %q\nwant %q", code, errs, want)
	}
}
