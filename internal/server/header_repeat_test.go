package server

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A header that takes one value, sent twice, is refused naming it, as a
// repeated query parameter is: the server read the first silently, so
// two Idempotency-Keys (a client library adding one to a script's)
// deduplicated on one of them, and two Authorization headers (a proxy
// adding its own) authenticated as whichever came first.
func TestRepeatedHeadersAreRefused(t *testing.T) {
	e := devEnv(t)
	admin := tokenFor(t, e.s, "operator-admin", "")
	for _, c := range []struct {
		method, path, header string
		values               []string
		code                 int
	}{
		{"POST", "/v1/jobs", "Idempotency-Key", []string{"k1", "k2"}, http.StatusBadRequest},
		{"GET", "/v1/watch", "Last-Event-ID", []string{"1", "2"}, http.StatusBadRequest},
		{"GET", "/v1/jobs", "Authorization", []string{"Bearer " + admin, "Bearer " + admin}, http.StatusUnauthorized},
	} {
		req := httptest.NewRequest(c.method, c.path, bytes.NewReader([]byte(`{"tenant":"default","gpus":1,"command":["x"]}`)))
		req.Header.Set("Content-Type", "application/json")
		if c.header != "Authorization" {
			req.Header.Set("Authorization", "Bearer "+admin)
		}
		for _, v := range c.values {
			req.Header.Add(c.header, v)
		}
		// a stream that took one value ends at its answer, or after a
		// while: a test that fails, not hangs
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req = req.WithContext(ctx)
		w := &endOnAnswer{httptest.NewRecorder(), cancel}
		e.s.Handler().ServeHTTP(w, req)
		cancel()
		checkDocumented(t, e.s.mux, req, w.Code)
		if w.Code != c.code || !strings.Contains(w.Body.String(), c.header) || !strings.Contains(w.Body.String(), "2 times") {
			t.Errorf("%s %s with %s twice: %d %s; want %d naming the header", c.method, c.path, c.header, w.Code, w.Body, c.code)
		}
	}
}

// An Idempotency-Key header that is too long is refused naming the
// header in errors[].field, as one with control characters is.
func TestLongIdempotencyKeyNamesTheHeader(t *testing.T) {
	e := devEnv(t)
	req := httptest.NewRequest("POST", "/v1/jobs", bytes.NewReader([]byte(`{"tenant":"default","gpus":1,"command":["x"]}`)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", strings.Repeat("k", 257))
	req = asAdmin(t, e.s, req)
	w := httptest.NewRecorder()
	e.s.Handler().ServeHTTP(w, req)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"field":"Idempotency-Key"`) || !strings.Contains(w.Body.String(), "257") {
		t.Errorf("a 257-byte key: %d %s; want 400 naming the header and its length", w.Code, w.Body)
	}
}
