package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/pki"
)

// parseCert parses the PEM certificate cert.
func parseCert(t testing.TB, cert string) *x509.Certificate {
	t.Helper()
	c, err := pki.ParseCertPEM([]byte(cert))
	if err != nil {
		t.Fatalf("certificate %q: %v", cert, err)
	}
	return c
}

// withCert makes a request come over a connection whose client
// presented the PEM certificate cert, as crypto/tls verified it.
func withCert(t testing.TB, cert string) func(*http.Request) *http.Request {
	t.Helper()
	c := parseCert(t, cert)
	return func(r *http.Request) *http.Request {
		r.TLS = &tls.ConnectionState{HandshakeComplete: true, PeerCertificates: []*x509.Certificate{c},
			VerifiedChains: [][]*x509.Certificate{{c, testCA(t).Certificate()}}}
		return r
	}
}

// unissued presents a certificate of node in site that the test CA
// signed outside any enrollment (another machine's, a stolen key's).
func unissued(t testing.TB, site, node string) func(*http.Request) *http.Request {
	t.Helper()
	key, err := pki.NewNodeKey()
	if err != nil {
		t.Fatal(err)
	}
	csr, err := pki.NodeCSR(key, node)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := testCA(t).SignNode(csr, site, node, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return withCert(t, string(cert))
}

// enroll enrolls node with cred (a join token, or the node's own
// certificate to renew it) and returns the answer's status and body, and
// credentials presenting the certificate issued (nil when refused). The
// certificate issued is also the one the node's agent presents from then
// on (e.register, the kit's heartbeats after a restart), until the test
// ends: the server accepts no other.
func (e *env) enroll(cred func(*http.Request) *http.Request, node string) (int, string, func(*http.Request) *http.Request) {
	e.t.Helper()
	code, out, issued, _ := e.enrollKeyed(cred, node)
	return code, out, issued
}

// enrollKeyed is enroll, which also returns the certificate issued with
// its key, for the node's own servers (its log server).
func (e *env) enrollKeyed(cred func(*http.Request) *http.Request, node string) (int, string, func(*http.Request) *http.Request, tls.Certificate) {
	e.t.Helper()
	key, err := pki.NewNodeKey()
	if err != nil {
		e.t.Fatal(err)
	}
	csr, err := pki.NodeCSR(key, node)
	if err != nil {
		e.t.Fatal(err)
	}
	var en api.Enrolled
	code, out := e.doWith(cred, "POST", "/v1/agent/enroll", api.Enroll{Node: node, CSR: string(csr)}, &en)
	if code != http.StatusOK {
		return code, string(out), nil, tls.Certificate{}
	}
	c := parseCert(e.t, en.Certificate)
	nodeCert(e.t, en.Site, node) // the map made
	k := en.Site + "/" + node
	creds.mu.Lock()
	was := creds.certs[k]
	creds.certs[k] = c
	creds.mu.Unlock()
	e.t.Cleanup(func() {
		creds.mu.Lock()
		defer creds.mu.Unlock()
		creds.certs[k] = was
	})
	return code, string(out), withCert(e.t, en.Certificate), tls.Certificate{Certificate: [][]byte{c.Raw}, PrivateKey: key, Leaf: c}
}

// A node's enrollment with a join token accepts its new certificate
// only: one the CA signed for the name before (another machine's, a
// stolen key's) is refused from then on. A renewal accepts the new
// certificate and the one it renewed with, not those before.
func TestEnrollmentReplacesTheNodesEarlierCertificates(t *testing.T) {
	f := newFixture(t)
	e := f.e
	code, out, first := e.enroll(withBearer(f.join["x"]), "m1")
	if code != http.StatusOK {
		t.Fatalf("first enrollment of m1: %d %s", code, out)
	}
	ping := func(cred func(*http.Request) *http.Request) (int, string) {
		code, out := e.doWith(cred, "GET", "/v1/agent/nodes/m1/assignments", nil, nil)
		return code, string(out)
	}
	if code, out := ping(first); code == http.StatusUnauthorized {
		t.Fatalf("m1 with the certificate it enrolled with: %d %s", code, out)
	}
	if code, out := ping(unissued(t, "x", "m1")); code != http.StatusUnauthorized || !strings.Contains(out, "was replaced by an enrollment") {
		t.Errorf("m1 with a certificate the CA signed but no enrollment issued: %d %s; want 401 saying it was replaced", code, out)
	}
	code, out, second := e.enroll(first, "m1")
	if code != http.StatusOK {
		t.Fatalf("m1 renewing: %d %s", code, out)
	}
	if code, out := ping(first); code == http.StatusUnauthorized {
		t.Errorf("m1 with the certificate it renewed with: %d %s; want it still accepted", code, out)
	}
	code, out, third := e.enroll(second, "m1")
	if code != http.StatusOK {
		t.Fatalf("m1 renewing again: %d %s", code, out)
	}
	if code, out := ping(first); code != http.StatusUnauthorized {
		t.Errorf("m1 with its first certificate after two renewals: %d %s; want 401", code, out)
	}
	if code := e.do("POST", "/v1/nodes/m1/reenroll", nil, nil); code != http.StatusOK {
		t.Fatalf("reenroll-node m1: %d", code)
	}
	if code, out := ping(third); code == http.StatusUnauthorized {
		t.Errorf("m1 with its certificate after reenroll-node, before the enrollment: %d %s; want it accepted", code, out)
	}
	code, out, fresh := e.enroll(withBearer(f.join["x"]), "m1")
	if code != http.StatusOK {
		t.Fatalf("m1 enrolling again: %d %s", code, out)
	}
	for i, old := range []func(*http.Request) *http.Request{second, third} {
		if code, _ := ping(old); code != http.StatusUnauthorized {
			t.Errorf("m1 with certificate %d of its earlier enrollment: %d; want 401", i+2, code)
		}
	}
	if code, out := ping(fresh); code == http.StatusUnauthorized {
		t.Errorf("m1 with its new enrollment's certificate: %d %s", code, out)
	}
}

// carnot revoke-node refuses every certificate of a node at once, its
// renewal included; only an operator's reenroll-node and a join token
// bring it back. It is operator-admin only, recorded, and a restarted
// server still refuses.
func TestRevokedNodeIsRefusedUntilItEnrollsAgain(t *testing.T) {
	f := newFixture(t)
	e := f.e
	code, out, cert := e.enroll(withBearer(f.join["x"]), "m1")
	if code != http.StatusOK {
		t.Fatalf("enrollment of m1: %d %s", code, out)
	}
	if code, _ := e.doWith(withBearer(tokenFor(t, e.s, "operator", "")), "POST", "/v1/nodes/m1/revoke", nil, nil); code != http.StatusForbidden {
		t.Errorf("an operator revoking m1: %d; want 403 (operator-admin only)", code)
	}
	if code := e.do("POST", "/v1/nodes/m1/revoke", nil, nil); code != http.StatusNoContent {
		t.Fatalf("revoke m1: %d", code)
	}
	if code := e.do("POST", "/v1/nodes/never/revoke", nil, nil); code != http.StatusNotFound {
		t.Errorf("revoking a name that never enrolled: %d; want 404", code)
	}
	refusedNow := func(when string) {
		t.Helper()
		code, out := e.doWith(cert, "GET", "/v1/agent/nodes/m1/assignments", nil, nil)
		if code != http.StatusUnauthorized || !strings.Contains(string(out), "certificates were revoked by an operator-admin") ||
			!strings.Contains(string(out), "carnot reenroll-node m1") {
			t.Errorf("m1's agent %s: %d %s; want 401 saying it was revoked and how to enroll again", when, code, out)
		}
		if code, _, _ := e.enroll(cert, "m1"); code != http.StatusUnauthorized {
			t.Errorf("m1 renewing its revoked certificate %s: %d; want 401", when, code)
		}
	}
	refusedNow("after the revocation")
	if code, _, _ := e.enroll(withBearer(f.join["x"]), "m1"); code != http.StatusConflict {
		t.Errorf("a join token enrolling revoked m1 without reenroll-node: %d; want 409", code)
	}
	e.s.store.Close()
	e = openEnv(t, e.dir, e.s.cfg.Facility, e.s.cfg.DynamicNodes, e.clock, func(c *Config) { c.CA = testCA(t) })
	refusedNow("after a restart")

	var evs api.EventList
	e.do("GET", "/v1/events", nil, &evs)
	revoked := false
	for _, ev := range evs.Events {
		revoked = revoked || ev.Node == "m1" && strings.Contains(ev.Message, "certificates revoked") && strings.HasPrefix(ev.Actor, "token:operator-admin")
	}
	if !revoked {
		t.Errorf("no revocation event of m1 with the operator-admin as actor: %+v", evs.Events)
	}
	join, err := e.s.MintToken(context.Background(), api.TokenRequest{Name: "join-x2", Role: "join", Site: "x"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if code := e.do("POST", "/v1/nodes/m1/reenroll", nil, nil); code != http.StatusOK {
		t.Fatalf("reenroll-node m1: %d", code)
	}
	code, out, fresh := e.enroll(withBearer(join.Secret), "m1")
	if code != http.StatusOK {
		t.Fatalf("m1 enrolling after reenroll-node: %d %s", code, out)
	}
	if code, out := e.doWith(fresh, "GET", "/v1/agent/nodes/m1/assignments", nil, nil); code == http.StatusUnauthorized {
		t.Errorf("m1 with its new certificate: %d %s", code, out)
	}
}

// A live node's allowance to enroll again needs force (its agent holds a
// valid certificate), but not once its certificates are revoked: its
// agent can no longer report, though its condition says ready until the
// heartbeat timeout, and reenroll-node is the way back.
func TestRevokedLiveNodeReenrollsWithoutForce(t *testing.T) {
	f := newFixture(t)
	e := f.e
	if code, out, _ := e.enroll(withBearer(f.join["x"]), "m1"); code != http.StatusOK {
		t.Fatalf("enrollment of m1: %d %s", code, out)
	}
	if code := e.register("m1", "x", 8); code != http.StatusOK {
		t.Fatalf("register m1: %d", code)
	}
	if code := e.do("POST", "/v1/nodes/m1/reenroll", nil, nil); code != http.StatusConflict {
		t.Fatalf("reenroll-node of live m1 without force: %d; want 409", code)
	}
	if code := e.do("POST", "/v1/nodes/m1/revoke", nil, nil); code != http.StatusNoContent {
		t.Fatalf("revoke m1: %d", code)
	}
	if code := e.do("POST", "/v1/nodes/m1/reenroll", nil, nil); code != http.StatusOK {
		t.Errorf("reenroll-node of revoked m1: %d; want 200 without force", code)
	}
}

// A revocation withdraws an allowance to enroll again given before it:
// the key may be stolen, and the node comes back only through a
// reenroll-node given after it.
func TestRevocationWithdrawsAnEarlierReenrollAllowance(t *testing.T) {
	f := newFixture(t)
	e := f.e
	if code, out, _ := e.enroll(withBearer(f.join["x"]), "m1"); code != http.StatusOK {
		t.Fatalf("enrollment of m1: %d %s", code, out)
	}
	if code := e.do("POST", "/v1/nodes/m1/reenroll", nil, nil); code != http.StatusOK {
		t.Fatalf("reenroll-node m1: %d", code)
	}
	if code := e.do("POST", "/v1/nodes/m1/revoke", nil, nil); code != http.StatusNoContent {
		t.Fatalf("revoke m1: %d", code)
	}
	if code, out, _ := e.enroll(withBearer(f.join["x"]), "m1"); code != http.StatusConflict {
		t.Errorf("a join token enrolling m1 with the allowance given before its revocation: %d %s; want 409", code, out)
	}
	if code := e.do("POST", "/v1/nodes/m1/reenroll", nil, nil); code != http.StatusOK {
		t.Fatalf("reenroll-node m1 after the revocation: %d", code)
	}
	if code, out, _ := e.enroll(withBearer(f.join["x"]), "m1"); code != http.StatusOK {
		t.Errorf("a join token enrolling m1 allowed after its revocation: %d %s", code, out)
	}
}
