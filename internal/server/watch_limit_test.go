package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

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
		req, _ := http.NewRequest("GET", hs.URL+"/v1/watch", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		checkDocumented(t, e.s.mux, req, resp.StatusCode)
		return resp.StatusCode, resp.Body
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
