package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// An operator-admin's allowance to enroll a name again lasts a while
// (an hour by default, ttl_seconds otherwise), which the answer says;
// an enrollment after it expired is refused, saying so and how to allow
// it again. An allowance stored by an earlier version, without an
// expiry, no longer holds: its age is unknown.
func TestReenrollAllowanceExpires(t *testing.T) {
	f := newFixture(t)
	e := f.e
	enroll := func() (int, string) {
		code, out := e.doWith(withBearer(f.join["x"]), "POST", "/v1/agent/enroll", enrollBody(t, "m1"), nil)
		return code, string(out)
	}
	if code, out := enroll(); code != http.StatusOK {
		t.Fatalf("first enrollment of m1: %d %s", code, out)
	}

	var a api.Reenroll
	if code := e.do("POST", "/v1/nodes/m1/reenroll", nil, &a); code != http.StatusOK || a.Node != "m1" || a.Site != "x" ||
		!a.Expires.Equal(e.clock.now().Add(time.Hour)) {
		t.Fatalf("reenroll m1: %d %+v; want 200 for m1 in site x, expiring in 1h (%s)", code, a, e.clock.now().Add(time.Hour))
	}
	e.clock.add(time.Hour + time.Second)
	if code, out := enroll(); code != http.StatusConflict || !strings.Contains(out, "expired at "+a.Expires.UTC().Format(time.RFC3339)) ||
		!strings.Contains(out, "carnot reenroll-node m1") {
		t.Fatalf("enrollment after the allowance expired: %d %s; want 409 saying when it expired and how to allow it again", code, out)
	}

	for _, ttl := range []int64{-1, int64(maxReenrollTTL/time.Second) + 1} {
		code, out := e.doWith(withBearer(tokenFor(t, e.s, "operator-admin", "")), "POST", "/v1/nodes/m1/reenroll",
			api.ReenrollRequest{TTLSeconds: ttl}, nil)
		if code != http.StatusBadRequest || !strings.Contains(string(out), `"field":"ttl_seconds"`) {
			t.Errorf("reenroll with ttl_seconds %d: %d %s; want 400 naming ttl_seconds", ttl, code, out)
		}
	}
	if code := e.do("POST", "/v1/nodes/m1/reenroll", api.ReenrollRequest{TTLSeconds: 60}, &a); code != http.StatusOK ||
		!a.Expires.Equal(e.clock.now().Add(time.Minute)) {
		t.Fatalf("reenroll m1 for 60 s: %d %+v", code, a)
	}
	e.clock.add(59 * time.Second)
	if code, out := enroll(); code != http.StatusOK {
		t.Fatalf("enrollment within the allowance: %d %s", code, out)
	}

	// An allowance of an earlier version: no expiry stored.
	old := []byte(`{"site":"x","enrolled":"2026-01-01T00:00:00Z","by":"token:join-x/1","reenroll_by":"token:admin/2"}`)
	if err := e.s.store.PutRecords(context.Background(), []store.Record{{Kind: recNode, Key: "m1", Doc: old}}, nil); err != nil {
		t.Fatal(err)
	}
	if code, out := enroll(); code != http.StatusConflict || !strings.Contains(out, "no expiry") || !strings.Contains(out, "carnot reenroll-node m1") {
		t.Fatalf("enrollment with an allowance stored without an expiry: %d %s; want 409 saying it no longer holds", code, out)
	}
}

// An allowance to enroll again a node whose agent still reports (ready
// or draining) is refused unless forced: that agent holds a valid
// certificate and needs none, and the allowance would let whoever holds
// a join token of its site take the name of a running node (a wrong
// name typed). Once the node is silent, no force is needed.
func TestReenrollLiveNodeNeedsForce(t *testing.T) {
	f := newFixture(t)
	e := f.e
	if code, out, _ := e.enroll(withBearer(f.join["x"]), "m1"); code != http.StatusOK {
		t.Fatalf("first enrollment of m1: %d %s", code, out)
	}
	if code := e.register("m1", "x", 8); code != http.StatusOK {
		t.Fatalf("register m1: %d", code)
	}
	w := e.raw("POST", "/v1/nodes/m1/reenroll", nil)
	if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "carnot reenroll-node --force m1") ||
		!strings.Contains(w.Body.String(), "agent still reports") {
		t.Fatalf("reenroll of live m1: %d %s; want 409 saying its agent reports, and how to force it", w.Code, w.Body)
	}
	var a api.Reenroll
	if code := e.do("POST", "/v1/nodes/m1/reenroll?force=true", nil, &a); code != http.StatusOK || a.Node != "m1" {
		t.Fatalf("forced reenroll of live m1: %d %+v", code, a)
	}
	e.clock.add(time.Minute) // silent past the heartbeat timeout
	e.pass()
	if code := e.do("POST", "/v1/nodes/m1/reenroll", nil, &a); code != http.StatusOK {
		t.Fatalf("reenroll of silent m1: %d; want 200", code)
	}
}
