package agent

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A registration the server refuses (403: a node it does not admit; 401:
// credentials it does not take) cannot pass until an operator acts: the
// agent says so at ERROR with the server's reason, once per reason, and
// retries only after the longer back-off of a refusal, not at the pace
// of a server that did not answer. Once admitted, it registers.
func TestRefusedRegistrationBacksOffAndSaysWhy(t *testing.T) {
	srv := newFakeServer()
	why := "node n1 is not in the facility, and the server does not admit nodes it does not list (--dynamic-nodes)"
	srv.refuse = &api.Problem{Status: http.StatusForbidden, Detail: why}
	var logs syncBuffer
	a := startAgent(t, srv, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	_ = a
	calls := func() []time.Time {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return append([]time.Time(nil), srv.regCalls...)
	}
	eventually(t, 2*time.Second, func() bool { return len(calls()) > 0 }, "a registration")
	time.Sleep(150 * time.Millisecond)
	// retryMin 10 ms, retryMax 50 ms (startAgent): a server that does not
	// answer gets four or five calls in 150 ms; a refusal waits longer.
	if cs := calls(); len(cs) > 2 {
		t.Errorf("%d registrations within 150 ms of a refusal (%v apart); want at most 2: a refusal backs off", len(cs), cs[len(cs)-1].Sub(cs[0]))
	}
	out := logs.String()
	var refusedLines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "level=ERROR") && strings.Contains(l, "refuses") {
			refusedLines = append(refusedLines, l)
		}
	}
	if len(refusedLines) != 1 || !strings.Contains(refusedLines[0], "--dynamic-nodes") || !strings.Contains(refusedLines[0], "status=403") {
		t.Errorf("ERROR lines saying the server refuses the node %q; want one, with the status and the server's reason\n%s", refusedLines, out)
	}
	srv.mu.Lock()
	srv.refuse = nil
	srv.mu.Unlock()
	eventually(t, 5*time.Second, func() bool { return len(srv.registrations()) == 1 }, "a registration once admitted")
}

// The wait between registrations grows, with jitter, to a bound: the
// transient one's to retryMax, a refusal's from refusedMin to refusedMax.
func TestRegistrationWait(t *testing.T) {
	a := &Agent{retryMin: time.Second, retryMax: 8 * time.Second, refusedMin: time.Minute, refusedMax: 4 * time.Minute}
	w := a.retryMin
	var got []time.Duration
	for range 6 {
		w = a.nextWait(w, false)
		got = append(got, w)
	}
	want := []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second, 8 * time.Second, 8 * time.Second}
	if !equalDurations(got, want) {
		t.Errorf("transient waits %v; want %v", got, want)
	}
	w, got = a.retryMin, nil
	for range 5 {
		w = a.nextWait(w, true)
		got = append(got, w)
	}
	want = []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 4 * time.Minute, 4 * time.Minute}
	if !equalDurations(got, want) {
		t.Errorf("refused waits %v; want %v", got, want)
	}
	for range 1000 {
		if j := jitter(8 * time.Second); j < 4*time.Second || j > 8*time.Second {
			t.Fatalf("jitter(8s) = %s; want within [4s, 8s]", j)
		}
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A registration answered 400 is the agent's own fault (a field this
// server does not know: an agent of another version), which no retry
// fixes: the agent says so at ERROR with the server's message, once,
// and backs off as after a refusal, not at the pace of a server that
// did not answer.
func TestBadRequestRegistrationBacksOffAsARefusal(t *testing.T) {
	srv := newFakeServer()
	why := `the registration is not valid: unknown field "gpu_links"`
	srv.refuse = &api.Problem{Status: http.StatusBadRequest, Detail: why}
	var logs syncBuffer
	startAgent(t, srv, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	var line string
	eventually(t, 2*time.Second, func() bool {
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "gpu_links") {
				line = l
				return true
			}
		}
		return false
	}, "a log line with the server's answer")
	if !strings.Contains(line, "level=ERROR") || !strings.Contains(line, "status=400") {
		t.Errorf("the first registration answered 400 is logged as %q; want ERROR with the status and the server's message", line)
	}
	// refusedMin 200 ms (startAgent): a refusal's first wait is 100 to
	// 200 ms; a transient error's, 5 to 10 ms.
	_, in, _ := strings.Cut(line, " in=")
	in, _, _ = strings.Cut(in, " ")
	if d, err := time.ParseDuration(in); err != nil || d < 100*time.Millisecond {
		t.Errorf("the agent retries a registration answered 400 in %q; want the back-off of a refusal (at least 100 ms here)", in)
	}
	srv.mu.Lock()
	srv.refuse = nil
	srv.mu.Unlock()
	eventually(t, 5*time.Second, func() bool { return len(srv.registrations()) == 1 }, "a registration once the server takes it")
}
