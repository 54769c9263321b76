package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// openWatch opens /v1/watch with query q (and headers, as key and value
// pairs) on hs with token tok, checks that its status is documented, and
// returns the status and the body, closed at the end of the test.
func openWatch(t *testing.T, e *env, hs *httptest.Server, tok, q string, header ...string) (int, io.Closer) {
	t.Helper()
	req, _ := http.NewRequest("GET", hs.URL+"/v1/watch"+q, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	checkDocumented(t, e.s.mux, req, resp.StatusCode)
	return resp.StatusCode, resp.Body
}

// A tenant's tokens, all together, hold at most MaxWatches watch streams
// open: one tenant cannot exhaust the server's memory with watchers (each
// holds a buffer of events); other tenants and the facility's operators
// are not held to its count, and a stream closed frees its place.
func TestWatchStreamsPerTenantAreBounded(t *testing.T) {
	e := secEnv(t)
	e.s.cfg.MaxWatches = 2
	hs := httptest.NewServer(e.s.Handler())
	t.Cleanup(hs.Close)
	open := func(tok string) (int, io.Closer) {
		t.Helper()
		return openWatch(t, e, hs, tok, "")
	}
	memA, adminA := tokenFor(t, e.s, "member", "a"), tokenFor(t, e.s, "tenant-admin", "a")
	first, _ := open(memA)
	second, body := open(memA)
	if first != 200 || second != 200 {
		t.Fatalf("two watches of a member of a: %d, %d", first, second)
	}
	for _, tok := range []string{memA, adminA} {
		if code, _ := open(tok); code != http.StatusTooManyRequests {
			t.Errorf("a third watch of tenant a: %d, want 429", code)
		}
	}
	if code, _ := open(tokenFor(t, e.s, "member", "b")); code != 200 {
		t.Errorf("a watch of tenant b while a holds its two: %d, want 200", code)
	}
	if code, _ := open(tokenFor(t, e.s, "operator-admin", "")); code != 200 {
		t.Errorf("an operator-admin's watch while a holds its two: %d, want 200", code)
	}
	body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, b := open(adminA)
		if code == 200 {
			break
		}
		b.Close()
		if time.Now().After(deadline) {
			t.Fatalf("a watch of tenant a after one of its two closed: %d, want 200", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A resumed stream (after=, or the Last-Event-ID an EventSource sends)
// counts against its tenant's streams as a fresh one does: resuming is
// no way around the limit.
func TestWatchResumedStreamsCountAgainstTheLimit(t *testing.T) {
	e := secEnv(t)
	e.s.cfg.MaxWatches = 2
	hs := httptest.NewServer(e.s.Handler())
	t.Cleanup(hs.Close)
	memA := tokenFor(t, e.s, "member", "a")
	e.submit(jobOf("a"))
	if code, _ := openWatch(t, e, hs, memA, "?after=0"); code != 200 {
		t.Fatalf("a watch of a member of a resuming with after=0: %d", code)
	}
	if code, _ := openWatch(t, e, hs, memA, "", "Last-Event-ID", "0"); code != 200 {
		t.Fatalf("a watch of a member of a resuming with Last-Event-ID: %d", code)
	}
	for _, q := range []string{"", "?after=0", "?after=1"} {
		if code, _ := openWatch(t, e, hs, memA, q); code != http.StatusTooManyRequests {
			t.Errorf("a third watch of tenant a (%q) while two resumed ones are open: %d, want 429", q, code)
		}
	}
	if code, _ := openWatch(t, e, hs, memA, "", "Last-Event-ID", "0"); code != http.StatusTooManyRequests {
		t.Errorf("a third watch of tenant a with Last-Event-ID while two resumed ones are open: %d, want 429", code)
	}
}
