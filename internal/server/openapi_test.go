package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// documented maps "METHOD /path" to the statuses openapi.json gives it.
var documented = sync.OnceValue(func() map[string]map[string]bool {
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		panic(err)
	}
	out := map[string]map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			m := map[string]bool{}
			for code := range op.Responses {
				m[code] = true
			}
			out[strings.ToUpper(method)+" "+path] = m
		}
	}
	return out
})

// checkDocumented fails the test when the server answered req with a
// status its route's operation does not document, or when no route of
// api.Routes matched.
func checkDocumented(t *testing.T, mux *http.ServeMux, req *http.Request, status int) {
	t.Helper()
	_, pattern := mux.Handler(req)
	if pattern == "/" {
		t.Errorf("%s %s matched no route of api.Routes", req.Method, req.URL.Path)
		return
	}
	if !documented()[pattern][strconv.Itoa(status)] {
		t.Errorf("%s answered %d, which openapi.json does not document for it", pattern, status)
	}
}

// Every route of api.Routes is served by its handler (not the fallback,
// not a 405), and its answer to a bare request is a documented status.
func TestEveryRouteIsServedAndDocumented(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(1, 1))
	for _, rt := range api.Routes {
		path := strings.NewReplacer("{id}", id, "{name}", "n1").Replace(rt.Path)
		if rt.Op == "watch" {
			continue // a stream; TestWatch covers it
		}
		req := httptest.NewRequest(rt.Method, path, nil)
		w := httptest.NewRecorder()
		e.s.mux.ServeHTTP(w, req)
		if w.Code == http.StatusMethodNotAllowed {
			t.Errorf("%s %s: 405", rt.Method, path)
		}
		checkDocumented(t, e.s.mux, req, w.Code)
	}
}

// The server serves the committed document.
func TestServesItsOpenAPIDocument(t *testing.T) {
	e := devEnv(t)
	req := httptest.NewRequest("GET", "/v1/openapi.json", nil)
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	if w.Code != 200 || w.Body.String() != string(api.OpenAPI) || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /v1/openapi.json: %d %s, %d bytes", w.Code, w.Header().Get("Content-Type"), w.Body.Len())
	}
}

// Every route that takes a body documents what readBody answers: a body
// over the limit (413) and one of another media type (415). A route that
// reads no body answers these requests as it answers others, and that
// must be documented too.
func TestBodyLimitAnswersAreDocumented(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(1, 1))
	join, err := e.s.MintToken(context.Background(), api.TokenRequest{Name: "join-local", Role: "join", Site: "local"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range api.Routes {
		if rt.Method == http.MethodGet {
			continue
		}
		path := strings.NewReplacer("{id}", id, "{name}", "n1").Replace(rt.Path)
		for _, c := range []struct {
			ct   string
			body []byte
		}{
			{"application/json", []byte(`{"x":"` + strings.Repeat("a", int(e.s.cfg.MaxBodyBytes)) + `"}`)},
			{"text/plain", []byte("{}")},
		} {
			req := httptest.NewRequest(rt.Method, path, bytes.NewReader(c.body))
			req.Header.Set("Content-Type", c.ct)
			if rt.Op == "agentEnroll" {
				req.Header.Set("Authorization", "Bearer "+join.Secret)
			}
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, req)
			checkDocumented(t, e.s.mux, req, w.Code)
		}
	}
}

// Every route answers 503 when the store fails while the server reads
// the caller's token (one not in its cache), and documents it.
func TestTokenStoreFailureIsDocumented(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(1, 1))
	tok := tokenFor(t, e.s, "operator-admin", "")
	e.s.store = recordFailingStore{e.s.store}
	for _, rt := range api.Routes {
		if rt.Op == "watch" {
			continue // a stream; its 503 is documented (TestWatch…)
		}
		e.s.tokens.mu.Lock()
		clear(e.s.tokens.m) // as once its cache entry expired
		e.s.tokens.mu.Unlock()
		path := strings.NewReplacer("{id}", id, "{name}", "n1").Replace(rt.Path)
		req := httptest.NewRequest(rt.Method, path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		e.s.Handler().ServeHTTP(w, req)
		if w.Code != http.StatusServiceUnavailable {
			t.Errorf("%s %s with the store failing: %d %s; want 503", rt.Method, path, w.Code, w.Body.String())
		}
		checkDocumented(t, e.s.mux, req, w.Code)
	}
}
