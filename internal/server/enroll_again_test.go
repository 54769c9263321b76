package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// A join token enrolls a name once. Enrolling a name already enrolled in
// the token's site would hand a leaked join token's holder a certificate
// for a running node, so it is refused (409), with a refusal event, and
// the answer says how an operator re-enrolls the node on purpose.
func TestJoinTokenCannotEnrollAnEnrolledName(t *testing.T) {
	f := newFixture(t)
	e := f.e
	if code, out := e.doWith(withBearer(f.join["x"]), "POST", "/v1/agent/enroll", enrollBody(t, "m1"), nil); code != http.StatusOK {
		t.Fatalf("first enrollment of m1: %d %s", code, out)
	}
	code, out := e.doWith(withBearer(f.join["x"]), "POST", "/v1/agent/enroll", enrollBody(t, "m1"), nil)
	if code != http.StatusConflict {
		t.Fatalf("enroll m1 again with a join token of its site: %d %s; want 409", code, out)
	}
	for _, want := range []string{"node m1 is already enrolled in site x", "carnot reenroll-node m1"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("refusal %s does not say %q", out, want)
		}
	}
	var evs api.EventList
	e.do("GET", "/v1/events", nil, &evs)
	refused := false
	for _, ev := range evs.Events {
		refused = refused || ev.Node == "m1" && strings.Contains(ev.Message, "already enrolled") && strings.HasPrefix(ev.Actor, "token:join-x")
	}
	if !refused {
		t.Errorf("no refusal event with the join token as actor: %+v", evs.Events)
	}
}

// The two ways to a new certificate for an enrolled name: the node
// renews with its own certificate (its own name only, and not after its
// name moved to another site), and an operator-admin allows one more
// enrollment with a join token (carnot reenroll-node), which the
// enrollment that uses it clears; no other role may allow it.
func TestEnrolledNodeRenewsOrAnOperatorReenrollsIt(t *testing.T) {
	f := newFixture(t)
	e := f.e
	enroll := func(cred func(*http.Request) *http.Request, name string) (int, string) {
		var en api.Enrolled
		code, out := e.doWith(cred, "POST", "/v1/agent/enroll", enrollBody(t, name), &en)
		if code == http.StatusOK && (en.Node != name || en.Site != "x") {
			t.Errorf("enrolled %+v; want node %s in site x", en, name)
		}
		return code, string(out)
	}
	code, out, own := e.enroll(withBearer(f.join["x"]), "m1")
	if code != http.StatusOK {
		t.Fatalf("first enrollment of m1: %d %s", code, out)
	}
	code, out, own = e.enroll(own, "m1")
	if code != http.StatusOK {
		t.Fatalf("m1 renewing with its own certificate: %d %s; want 200", code, out)
	}
	if code, out := enroll(withNodeCert(t, "x", "n1"), "m1"); code != http.StatusForbidden || !strings.Contains(out, "renews its own certificate only") {
		t.Errorf("n1's certificate renewing m1: %d %s; want 403", code, out)
	}
	// A certificate of m1 that no enrollment of it issued (here, of
	// site y) is refused before it can renew anything.
	if code, out := enroll(withNodeCert(t, "y", "m1"), "m1"); code != http.StatusUnauthorized || !strings.Contains(out, "was replaced by an enrollment") {
		t.Errorf("a certificate of m1 in site y renewing m1 of site x: %d %s; want 401", code, out)
	}

	if code, _ := e.doWith(withBearer(tokenFor(t, e.s, "operator", "")), "POST", "/v1/nodes/m1/reenroll", nil, nil); code != http.StatusForbidden {
		t.Errorf("an operator allowing m1 to enroll again: %d; want 403 (operator-admin only)", code)
	}
	if code, out := e.doWith(withBearer(f.join["x"]), "POST", "/v1/nodes/m1/reenroll", nil, nil); code != http.StatusForbidden {
		t.Errorf("a join token allowing m1 to enroll again: %d %s; want 403", code, out)
	}
	if code, out := enroll(withBearer(f.join["x"]), "m1"); code != http.StatusConflict {
		t.Fatalf("join token enrolling m1 again before an operator-admin allowed it: %d %s; want 409", code, out)
	}
	if code := e.do("POST", "/v1/nodes/m1/reenroll", nil, nil); code != http.StatusOK {
		t.Fatalf("operator-admin allowing m1 to enroll again: %d; want 200", code)
	}
	if code, out, _ := e.enroll(own, "m1"); code != http.StatusOK {
		t.Errorf("m1 renewing after reenroll-node: %d %s; want 200", code, out)
	}
	if code, out := enroll(withBearer(f.join["x"]), "m1"); code != http.StatusOK {
		t.Fatalf("join token enrolling m1 after reenroll-node: %d %s; want 200", code, out)
	}
	if code, out := enroll(withBearer(f.join["x"]), "m1"); code != http.StatusConflict {
		t.Errorf("join token enrolling m1 a third time: %d %s; want 409 (reenroll-node allows one enrollment)", code, out)
	}
	if code := e.do("POST", "/v1/nodes/never/reenroll", nil, nil); code != http.StatusNotFound {
		t.Errorf("reenroll-node of a name that never enrolled: %d; want 404", code)
	}
	if code := e.do("POST", "/v1/nodes/-bad/reenroll", nil, nil); code != http.StatusBadRequest {
		t.Errorf("reenroll-node of an invalid name: %d; want 400", code)
	}
	var evs api.EventList
	e.do("GET", "/v1/events", nil, &evs)
	var msgs []string
	for _, ev := range evs.Events {
		if ev.Node == "m1" {
			msgs = append(msgs, ev.Actor+": "+ev.Message)
		}
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"node:m1: node m1 renewed its certificate in site x", "may enroll once more with a join token of site x",
		"node m1 enrolled in site x again, as token:"} {
		if !strings.Contains(all, want) {
			t.Errorf("events of m1 do not say %q:\n%s", want, all)
		}
	}
}

// A node the facility file moved to another site cannot renew its
// certificate of the first: the refusal says so (the certificate's site,
// the file's) and how to enroll it in its new site, which a join token
// of that site then does.
func TestMovedNodeRenewalSaysItMoved(t *testing.T) {
	inB := listedFacility()
	inB.Racks = append(inB.Racks, model.Rack{ID: "rb", Hall: "b-hall"})
	inB.Nodes[0].Site, inB.Nodes[0].Hall, inB.Nodes[0].Rack = "b", "b-hall", "rb"
	withCA := func(c *Config) { c.CA = testCA(t) }
	e := openEnv(t, t.TempDir(), inB, false, &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}, withCA)
	join := func(site string) func(*http.Request) *http.Request {
		tok, err := e.s.MintToken(context.Background(), api.TokenRequest{Name: "join-" + site, Role: "join", Site: site}, "test")
		if err != nil {
			t.Fatal(err)
		}
		return withBearer(tok.Secret)
	}
	code, out, inb := e.enroll(join("b"), "a1")
	if code != http.StatusOK {
		t.Fatalf("a1 enrolling in site b: %d %s", code, out)
	}
	e.s.store.Close()
	e = openEnv(t, e.dir, listedFacility(), false, e.clock, withCA) // the file moves a1 to site a

	code, out, _ = e.enroll(inb, "a1")
	if code != http.StatusForbidden {
		t.Fatalf("a1 renewing its certificate of site b after the file moved it to site a: %d %s; want 403", code, out)
	}
	want := "node a1's certificate names site b, but the facility file now lists it in site a: its certificate cannot renew it. " +
		"Enroll it in site a: delete node.key and node.crt in its agent's --data-dir, then start the agent with a join token of site a " +
		"(carnot token create --role join --site a)"
	if !strings.Contains(out, want) {
		t.Errorf("refusal %s; want it to say %q", out, want)
	}
	if strings.Contains(out, "join token of site b") {
		t.Errorf("refusal %s speaks of a join token: the node sent its certificate", out)
	}
	if code, out := e.doWith(join("a"), "POST", "/v1/agent/enroll", enrollBody(t, "a1"), nil); code != http.StatusOK {
		t.Errorf("a1 enrolling with a join token of site a, as the refusal says: %d %s", code, out)
	}
}
