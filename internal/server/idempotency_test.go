package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A submission retried with its Idempotency-Key after its answer was lost
// (a timeout) gets the job the first created, with 200, even when the
// retry comes once the job's deadline is too near for a new submission:
// the job was accepted while it was not.
func TestRetriedSubmissionPastItsDeadlineCheck(t *testing.T) {
	e := devEnv(t)
	deadline := e.clock.now().Add(time.Hour + 30*time.Second).Format(time.RFC3339)
	body, _ := json.Marshal(spec(1, 1, "runtime_limit", "1h", "deadline", deadline))
	send := func() (int, api.Job, string) {
		req := httptest.NewRequest("POST", "/v1/jobs", strings.NewReader(string(body)))
		req.Header.Set(api.IdempotencyKeyHeader, "retry-1")
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, req)
		checkDocumented(t, e.s.mux, req, w.Code)
		var j api.Job
		json.Unmarshal(w.Body.Bytes(), &j)
		return w.Code, j, w.Body.String()
	}
	code, first, msg := send()
	if code != http.StatusCreated {
		t.Fatalf("first submission: %d %s", code, msg)
	}
	e.clock.add(time.Minute) // the client's timeout, then its retry
	code, again, msg := send()
	if code != http.StatusOK || again.ID != first.ID {
		t.Errorf("retried submission: %d %s; want 200 with job %s", code, msg, first.ID)
	}
}

// An Idempotency-Key that is not text (bytes that are not UTF-8, control
// characters), which PostgreSQL cannot store, is refused with 400 naming
// the header, on every store alike, instead of a 503 on PostgreSQL that
// also cut every watcher's stream.
func TestIdempotencyKeyMustBeText(t *testing.T) {
	for _, st := range []struct {
		name string
		env  func(*testing.T) *env
	}{{"sqlite", devEnv}, {"postgres", pgDevEnv}} {
		t.Run(st.name, func(t *testing.T) {
			e := st.env(t)
			body, _ := json.Marshal(spec(1, 1))
			for _, key := range []string{"k\xff", "k\x00", "k\x01", "k\x7f"} {
				req := httptest.NewRequest("POST", "/v1/jobs", strings.NewReader(string(body)))
				req.Header.Set(api.IdempotencyKeyHeader, key)
				w := httptest.NewRecorder()
				e.h.ServeHTTP(w, req)
				var p api.Problem
				json.Unmarshal(w.Body.Bytes(), &p)
				if w.Code != http.StatusBadRequest || len(p.Errors) != 1 || p.Errors[0].Field != api.IdempotencyKeyHeader {
					t.Errorf("key %+q: %d %s; want 400 naming %s", key, w.Code, w.Body.String(), api.IdempotencyKeyHeader)
				}
			}
			req := httptest.NewRequest("POST", "/v1/jobs", strings.NewReader(string(body)))
			req.Header.Set(api.IdempotencyKeyHeader, "clé 5b0c-été")
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, req)
			if w.Code != http.StatusCreated {
				t.Errorf("a key of UTF-8 text: %d %s; want 201", w.Code, w.Body.String())
			}
		})
	}
}
