package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A member of tenant a that resumes a watch (after=0, Last-Event-ID: 0)
// gets a's stored events replayed and then a's new ones, never another
// tenant's or the facility's, though those come between a's in the
// store; and it may not ask for another tenant's stream.
func TestWatchReplayOfATenantShowsItsEventsOnly(t *testing.T) {
	e := secEnv(t)
	hs := httptest.NewServer(e.s.Handler())
	t.Cleanup(hs.Close) // after the streams'
	memA := tokenFor(t, e.s, "member", "a")
	tokenFor(t, e.s, "member", "b")        // an event of tenant b
	tokenFor(t, e.s, "operator-admin", "") // an event of no tenant
	a1 := e.submit(jobOf("a"))
	for range 3 {
		e.submit(jobOf("b"))
	}
	a2 := e.submit(jobOf("a"))
	for _, header := range [][]string{
		{"Authorization", "Bearer " + memA},
		{"Authorization", "Bearer " + memA, "Last-Event-ID", "0"},
	} {
		q := "?after=0"
		if len(header) > 2 {
			q = ""
		}
		evs, stop := openStream(t, hs, q, header...)
		e.submit(jobOf("b"))
		a3 := e.submit(jobOf("a"))
		var jobs []string
		for last := ""; last != a3; {
			ev, ok := <-evs
			if !ok {
				t.Fatalf("the stream of a member of a (%v) ended after jobs %v", header[2:], jobs)
			}
			if ev.Tenant != "a" {
				t.Fatalf("the stream of a member of a (%v) carried %s of tenant %q: %s", header[2:], ev.Type, ev.Tenant, ev.Message)
			}
			if ev.Type == api.EventSubmitted {
				jobs = append(jobs, ev.Job)
				last = ev.Job
			}
		}
		stop()
		if !slices.Contains(jobs, a1) || !slices.Contains(jobs, a2) {
			t.Errorf("the resumed stream (%v) carried the submissions of %v; want a's %s, %s and %s", header[2:], jobs, a1, a2, a3)
		}
	}
	if code, _ := openWatch(t, e, hs, memA, "?tenant=b&after=0"); code != http.StatusForbidden {
		t.Errorf("a member of a resuming tenant b's stream: %d, want 403", code)
	}
}

// A resumed stream, like a fresh one, ends at its token's revocation:
// what comes after it, replayed or not, does not reach the token.
func TestResumedWatchEndsWhenTokenRevoked(t *testing.T) {
	e := secEnv(t)
	hs := httptest.NewServer(e.s.Handler())
	t.Cleanup(hs.Close) // after the stream's
	tok, err := e.s.MintToken(context.Background(), api.TokenRequest{Name: "watcher", Role: "member", Tenant: "a"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	a1 := e.submit(jobOf("a"))
	evs, _ := openStream(t, hs, "?after=0", "Authorization", "Bearer "+tok.Secret)
	// The replay comes after the stream's start: revoked before the
	// replay read the store, the token gets nothing more, a1 neither
	// (TestReplayAfterRevocationSendsNothingNewer). The revocation
	// waits for a1, replayed.
	var jobs []string
	timeout := time.After(10 * time.Second)
	for !slices.Contains(jobs, a1) {
		select {
		case ev, ok := <-evs:
			if !ok {
				t.Fatalf("the resumed stream carried jobs %v and ended before the revocation; want %s, replayed", jobs, a1)
			}
			jobs = append(jobs, ev.Job)
		case <-timeout:
			t.Fatalf("the resumed stream carried jobs %v in 10 s; want %s, replayed", jobs, a1)
		}
	}
	if code := e.do("POST", "/v1/tokens/"+tok.ID+"/revoke", nil, nil); code != http.StatusOK {
		t.Fatalf("revoke: %d", code)
	}
	a2 := e.submit(jobOf("a"))
	timeout = time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-evs:
			if !ok {
				return
			}
			if ev.Job == a2 {
				t.Fatalf("a revoked token's resumed stream carried %s of %s, submitted after the revocation", ev.Type, a2)
			}
		case <-timeout:
			t.Fatal("a revoked token's resumed stream was still open 10 s after the revocation")
		}
	}
}

// A token revoked after its stream was opened but before the stream's
// replay read the store: the replay sends nothing committed after the
// revocation (it sent every event the read found, a2 included).
func TestReplayAfterRevocationSendsNothingNewer(t *testing.T) {
	e := secEnv(t)
	hs := httptest.NewServer(e.s.Handler())
	t.Cleanup(hs.Close)
	tok, err := e.s.MintToken(context.Background(), api.TokenRequest{Name: "watcher", Role: "member", Tenant: "a"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	e.submit(jobOf("a"))
	submitted := make(chan string, 1)
	e.s.beforeReplay = func() {
		if code := e.do("POST", "/v1/tokens/"+tok.ID+"/revoke", nil, nil); code != http.StatusOK {
			t.Errorf("revoke: %d", code)
		}
		submitted <- e.submit(jobOf("a"))
	}
	evs, _ := openStream(t, hs, "?after=0", "Authorization", "Bearer "+tok.Secret)
	a2 := <-submitted
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-evs:
			if !ok {
				return
			}
			if ev.Job == a2 {
				t.Fatalf("a revoked token's replay carried %s of %s, submitted after the revocation", ev.Type, a2)
			}
		case <-timeout:
			t.Fatal("a revoked token's resumed stream was still open 10 s after the revocation")
		}
	}
}
