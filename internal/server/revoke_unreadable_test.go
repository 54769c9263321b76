package server

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// A node whose enrollment record the server cannot read (corrupt in the
// store) can still be revoked: an operator must always be able to shut
// out a key that may be stolen. The revocation fails closed: every
// certificate of the node is refused, by this server and after a
// restart, and a join token does not enroll it without reenroll-node;
// the event says the record was not readable and what replaced it. Its
// site is the one the node registered in, else the facility file's;
// when neither is known, a join token of no site enrolls it, and
// reenroll-node says what the operator must do first.
func TestNodeWithAnUnreadableEnrollmentCanBeRevoked(t *testing.T) {
	f := newFixture(t)
	e := f.e
	ctx := context.Background()
	code, out, m1 := e.enroll(withBearer(f.join["x"]), "m1")
	if code != http.StatusOK {
		t.Fatalf("enrollment of m1: %d %s", code, out)
	}
	if code, out := e.doWith(m1, "POST", "/v1/agent/register", api.Register{Name: "m1", Site: "x", Address: "http://127.0.0.1:1", CPUs: 8, MemoryGiB: 64}, nil); code != http.StatusOK {
		t.Fatalf("m1 registering: %d %s", code, out)
	}
	code, out, m2 := e.enroll(withBearer(f.join["y"]), "m2") // never registers: its site is in its record only
	if code != http.StatusOK {
		t.Fatalf("enrollment of m2: %d %s", code, out)
	}
	admin := func(path string) (int, []byte) {
		return e.doWith(withBearer(tokenFor(t, e.s, "operator-admin", "")), "POST", path, nil, nil)
	}
	for _, n := range []string{"m1", "m2"} {
		bad := store.Record{Kind: recNode, Key: n, Doc: []byte(`{"site": 5, "serials": "`)}
		if err := e.s.store.PutRecords(ctx, []store.Record{bad}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"m1", "m2"} {
		if code, out := admin("/v1/nodes/" + n + "/revoke"); code != http.StatusNoContent {
			t.Fatalf("revoking %s, whose enrollment record is not readable: %d %s; want 204", n, code, out)
		}
	}
	refused := func(when string) {
		t.Helper()
		for n, cert := range map[string]func(*http.Request) *http.Request{"m1": m1, "m2": m2} {
			code, out := e.doWith(cert, "GET", "/v1/agent/nodes/"+n+"/assignments", nil, nil)
			if code != http.StatusUnauthorized || !strings.Contains(string(out), "revoked") {
				t.Errorf("%s's certificate %s: %d %s; want 401 saying it was revoked", n, when, code, out)
			}
			if code, _, _ := e.enroll(cert, n); code != http.StatusUnauthorized {
				t.Errorf("%s renewing its revoked certificate %s: %d; want 401", n, when, code)
			}
			for _, site := range []string{"x", "y"} {
				if code, out, _ := e.enroll(withBearer(f.join[site]), n); code != http.StatusConflict && code != http.StatusForbidden {
					t.Errorf("a join token of site %s enrolling revoked %s %s: %d %s; want it refused", site, n, when, code, out)
				}
			}
		}
	}
	refused("after the revocation")
	var evs api.EventList
	e.do("GET", "/v1/events", nil, &evs)
	said := map[string]string{}
	for _, ev := range evs.Events {
		if strings.Contains(ev.Message, "certificates revoked") {
			said[ev.Node] = ev.Message
		}
	}
	if m := said["m1"]; !strings.Contains(m, "not readable") || !strings.Contains(m, "site x") {
		t.Errorf("m1's revocation event: %q; want it to say its record was not readable and name site x", m)
	}
	if m := said["m2"]; !strings.Contains(m, "not readable") || !strings.Contains(m, "site is not known") || strings.Contains(m, "site )") {
		t.Errorf("m2's revocation event: %q; want it to say its record was not readable and its site is not known, naming no empty site", m)
	}
	if m := said["m1"]; !strings.Contains(m, "registered in") {
		t.Errorf("m1's revocation event: %q; want it to say its site is the one it registered in", m)
	}
	e.s.store.Close()
	e = openEnvQuiet(t, e.dir, e.s.cfg.Facility, e.s.cfg.DynamicNodes, e.clock, func(c *Config) { c.CA = testCA(t) })
	refused("after a restart")

	if code, out := admin("/v1/nodes/m2/reenroll"); code != http.StatusConflict || !strings.Contains(string(out), "facility file") {
		t.Errorf("reenroll-node of m2, whose site is not known: %d %s; want 409 saying to list it in the facility file", code, out)
	}
	if code, out := admin("/v1/nodes/m1/reenroll"); code != http.StatusOK {
		t.Fatalf("reenroll-node of m1: %d %s", code, out)
	}
	if code, out, _ := e.enroll(withBearer(f.join["y"]), "m1"); code != http.StatusConflict && code != http.StatusForbidden {
		t.Errorf("a join token of site y enrolling m1 of site x after reenroll-node: %d %s; want it refused", code, out)
	}
	code, out, fresh := e.enroll(withBearer(f.join["x"]), "m1")
	if code != http.StatusOK {
		t.Fatalf("m1 enrolling with a join token of site x after reenroll-node: %d %s", code, out)
	}
	if code, out := e.doWith(fresh, "GET", "/v1/agent/nodes/m1/assignments", nil, nil); code == http.StatusUnauthorized {
		t.Errorf("m1's new certificate: %d %s; want it accepted", code, out)
	}
}

// reenroll-node of a node whose enrollment record is not readable says
// what to do (revoke it first, which replaces the record), not that the
// server is unavailable; once revoked, the node may be allowed again.
func TestReenrollOfAnUnreadableEnrollmentSaysToRevokeFirst(t *testing.T) {
	f := newFixture(t)
	e := f.e
	code, out, m1 := e.enroll(withBearer(f.join["x"]), "m1")
	if code != http.StatusOK {
		t.Fatalf("enrollment of m1: %d %s", code, out)
	}
	if code, out := e.doWith(m1, "POST", "/v1/agent/register", api.Register{Name: "m1", Site: "x", Address: "http://127.0.0.1:1", CPUs: 8, MemoryGiB: 64}, nil); code != http.StatusOK {
		t.Fatalf("m1 registering: %d %s", code, out)
	}
	bad := store.Record{Kind: recNode, Key: "m1", Doc: []byte(`{"site": 5}`)}
	if err := e.s.store.PutRecords(context.Background(), []store.Record{bad}, nil); err != nil {
		t.Fatal(err)
	}
	admin := withBearer(tokenFor(t, e.s, "operator-admin", ""))
	code, body := e.doWith(admin, "POST", "/v1/nodes/m1/reenroll?force=true", nil, nil)
	if code != http.StatusConflict || !strings.Contains(string(body), "not readable") || !strings.Contains(string(body), "carnot revoke-node m1") {
		t.Errorf("reenroll-node of m1, its record not readable: %d %s; want 409 saying to revoke it first", code, body)
	}
	if code, out := e.doWith(admin, "POST", "/v1/nodes/m1/revoke", nil, nil); code != http.StatusNoContent {
		t.Fatalf("revoke m1: %d %s", code, out)
	}
	if code, out := e.doWith(admin, "POST", "/v1/nodes/m1/reenroll", nil, nil); code != http.StatusOK {
		t.Errorf("reenroll-node of m1 once revoked: %d %s; want 200", code, out)
	}
}
