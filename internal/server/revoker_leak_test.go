package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// The refusals that the holder of a node's certificate or of a join
// token reads do not name the operator-admin's token that revoked the
// node or allowed it to enroll again: the holder of a revoked
// certificate is the party a revocation shuts out (a stolen key's), and
// a join token is a machine's. They say what happened and when; the
// node's events name who.
func TestNodeRefusalsDoNotNameTheOperatorsToken(t *testing.T) {
	f := newFixture(t)
	e := f.e
	admin := withBearer(tokenFor(t, e.s, "operator-admin", ""))
	code, out, m1 := e.enroll(withBearer(f.join["x"]), "m1")
	if code != http.StatusOK {
		t.Fatalf("enrollment of m1: %d %s", code, out)
	}
	if code, out := e.doWith(admin, "POST", "/v1/nodes/m1/revoke", nil, nil); code != http.StatusNoContent {
		t.Fatalf("revoke m1: %d %s", code, out)
	}
	leaks := func(what string, code int, out string) {
		t.Helper()
		if strings.Contains(out, "token:") || strings.Contains(out, "operator-admin/") {
			t.Errorf("%s: %d %s; want no token named", what, code, out)
		}
		if !strings.Contains(out, "m1") {
			t.Errorf("%s: %d %s; want it to name the node", what, code, out)
		}
	}
	code, body := e.doWith(m1, "GET", "/v1/agent/nodes/m1/assignments", nil, nil)
	if code != http.StatusUnauthorized || !strings.Contains(string(body), "revoked") {
		t.Errorf("m1's revoked certificate: %d %s; want 401 saying it was revoked", code, body)
	}
	leaks("m1's agent with its revoked certificate", code, string(body))
	code, out, _ = e.enroll(m1, "m1")
	leaks("m1 renewing its revoked certificate", code, out)
	code, out, _ = e.enroll(withBearer(f.join["x"]), "m1")
	if code != http.StatusConflict {
		t.Errorf("a join token enrolling revoked m1: %d %s; want 409", code, out)
	}
	leaks("a join token enrolling revoked m1", code, out)

	if code, out := e.doWith(admin, "POST", "/v1/nodes/m1/reenroll", api.ReenrollRequest{TTLSeconds: 60}, nil); code != http.StatusOK {
		t.Fatalf("reenroll m1: %d %s", code, out)
	}
	e.clock.add(2 * time.Minute)
	code, out, _ = e.enroll(withBearer(f.join["x"]), "m1")
	if code != http.StatusConflict || !strings.Contains(out, "expired") {
		t.Errorf("a join token enrolling m1 after its allowance expired: %d %s; want 409 saying it expired", code, out)
	}
	leaks("a join token enrolling m1 after its allowance expired", code, out)

	var evs api.EventList
	e.do("GET", "/v1/events", nil, &evs)
	named := false
	for _, ev := range evs.Events {
		named = named || ev.Node == "m1" && strings.Contains(ev.Message, "certificates revoked") && strings.HasPrefix(ev.Actor, "token:operator-admin")
	}
	if !named {
		t.Errorf("no revocation event of m1 naming the operator-admin as its actor: %+v", evs.Events)
	}
}
