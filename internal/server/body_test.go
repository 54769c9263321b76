package server

import (
	"strings"
	"testing"
)

// A truncated body says so, not "unexpected EOF".
func TestTruncatedBodyIsNamed(t *testing.T) {
	e := devEnv(t)
	w := e.raw("POST", "/v1/tokens", []byte(`{"name": "a"`))
	if got := w.Body.String(); w.Code != 400 || strings.Contains(got, "unexpected EOF") || !strings.Contains(got, "ends before") {
		t.Errorf("a truncated body: %d %s; want 400 saying it ends early", w.Code, got)
	}
}

// An empty (or blank) body on a route that decodes strictly is named as
// such, with what the route wants, not answered with a bare "EOF".
func TestEmptyBodyIsNamed(t *testing.T) {
	e := devEnv(t)
	for _, rt := range []struct{ method, path, field string }{
		{"POST", "/v1/tokens", "role"},
		{"PUT", "/v1/secrets/s1", "value"},
		{"POST", "/v1/agent/register", "name"},
		{"POST", "/v1/agent/nodes/n1/heartbeat", "tasks"},
	} {
		for _, body := range []string{"", " \n"} {
			w := e.raw(rt.method, rt.path, []byte(body))
			got := w.Body.String()
			if w.Code != 400 || strings.Contains(got, `"EOF"`) || !strings.Contains(got, "empty body: want a JSON object") || !strings.Contains(got, rt.field) {
				t.Errorf("%s %s with body %q: %d %s; want 400 saying the body is empty and naming %s", rt.method, rt.path, body, w.Code, got, rt.field)
			}
		}
	}
}
