package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/auth"
	"github.com/carnot-dc/carnot/internal/client"
	"github.com/carnot-dc/carnot/internal/pki"
)

// dropRenewals serves a node's renewals (an enrollment over mTLS) in
// full, signing and recording each, but drops the answer of the first
// *n of them: the connection is cut, as a network would lose it.
func dropRenewals(n *atomic.Int32) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			renewal := r.URL.Path == "/v1/agent/enroll" && r.TLS != nil && len(r.TLS.PeerCertificates) > 0
			if !renewal || n.Add(-1) < 0 {
				h.ServeHTTP(w, r)
				return
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			panic(http.ErrAbortHandler)
		})
	}
}

// A renewal whose answer is lost leaves the node with its certificate,
// which the server still accepts, so that it renews again with it:
// after one lost answer, and after two in a row. The certificate it
// finally gets is accepted, and the one it renewed with is refused once
// the node presented the new one.
func TestRenewalWhoseAnswerIsLostIsRenewedAgain(t *testing.T) {
	var drop atomic.Int32
	s := startShortCertServerWith(t, 2*time.Minute, false, dropRenewals(&drop)) // due to renew from its issue
	ctx := context.Background()
	join, err := s.srv.MintToken(ctx, api.TokenRequest{Name: "rack", Role: string(auth.Join), Site: "local"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	first, _, _, err := enrollNode(ctx, s.url, dir, "n1", join.Secret, s.caFile)
	if err != nil {
		t.Fatalf("first enrollment: %v", err)
	}
	// The agent's requests with cert: 401 is the server refusing it;
	// anything else (a 404 for a node not registered) accepts it.
	refused := func(cert tls.Certificate) (bool, string) {
		cl, err := client.New(s.url, client.WithTLS(pki.ClientConfig(s.ca.Pool(), &cert)))
		if err != nil {
			t.Fatal(err)
		}
		_, err = cl.Assignments(ctx, "n1", 0, 0)
		var p *api.Problem
		return errors.As(err, &p) && p.Status == http.StatusUnauthorized, errString(err)
	}
	for lost := 1; lost <= 2; lost++ {
		drop.Store(int32(lost))
		for i := range lost {
			if _, _, _, err := enrollNode(ctx, s.url, dir, "n1", "", ""); err == nil {
				t.Fatalf("%d lost answers: renewal %d succeeded; want its answer lost", lost, i+1)
			}
		}
		held, err := pki.LoadNode(dir)
		if err != nil {
			t.Fatal(err)
		}
		if held.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) != 0 {
			t.Fatalf("%d lost answers: the node holds another certificate than its first", lost)
		}
		if no, why := refused(held); no {
			t.Fatalf("the node's certificate after %d renewals whose answers were lost: %s; want it accepted", lost, why)
		}
	}
	renewed, _, _, err := enrollNode(ctx, s.url, dir, "n1", "", "")
	if err != nil {
		t.Fatalf("renewing after two lost answers: %v", err)
	}
	if renewed.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) == 0 {
		t.Fatal("the renewal returned the first certificate")
	}
	// Until the node uses the renewed certificate, the one it renewed
	// with holds (the answer may be lost again); from then, no more.
	for _, c := range []struct {
		what   string
		cert   tls.Certificate
		refuse bool
	}{
		{"the certificate it renewed with, the renewed one not used yet", first, false},
		{"the renewed certificate", renewed, false},
		{"the certificate it renewed with, once the renewed one was used", first, true},
	} {
		if no, why := refused(c.cert); no != c.refuse {
			t.Errorf("%s: %s; want refused %t", c.what, why, c.refuse)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return "accepted"
	}
	return err.Error()
}

// An agent started with a join token after its node's certificates
// were revoked and an operator-admin allowed it to enroll again
// (carnot revoke-node, then carnot reenroll-node: a key that may have
// been copied, on a machine still trusted) enrolls with the token: the
// certificate in its data directory, far from its end, is refused by
// the server. (It went on presenting that one and was refused for ever,
// unless its operator deleted node.key and node.crt.)
func TestAgentEnrollsWithItsJoinTokenOnceItsCertificateIsRevoked(t *testing.T) {
	cp := startTestServer(t)
	ctx := context.Background()
	join, err := cp.srv.MintToken(ctx, api.TokenRequest{Name: "rack", Role: string(auth.Join), Site: "local"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := cp.srv.MintToken(ctx, api.TokenRequest{Name: "admin", Role: string(auth.OperatorAdmin)}, "test")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	first, _, _, err := enrollNode(ctx, cp.adminURL, dir, "n1", join.Secret, cp.caFile)
	if err != nil {
		t.Fatalf("first enrollment: %v", err)
	}
	if again, _, _, err := enrollNode(ctx, cp.adminURL, dir, "n1", join.Secret, cp.caFile); err != nil || again.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) != 0 {
		t.Fatalf("a start with the join token while the certificate holds: %v; want the same certificate, no enrollment", err)
	}
	for _, cmd := range []string{"revoke-node", "reenroll-node"} {
		if code, out, errs := carnot(cmd, "n1", "--server", cp.adminURL, "--ca", cp.caFile, "--token", admin.Secret); code != 0 {
			t.Fatalf("carnot %s n1: exit %d, %q, %q", cmd, code, out, errs)
		}
	}
	cert, _, _, err := enrollNode(ctx, cp.adminURL, dir, "n1", join.Secret, "")
	if err != nil {
		t.Fatalf("the agent's start with the join token after revoke-node and reenroll-node: %v", err)
	}
	if cert.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) == 0 {
		t.Fatal("the agent's start with the join token after revoke-node and reenroll-node kept the revoked certificate")
	}
	roots, err := pki.LoadPool(cp.caFile)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(cp.adminURL, client.WithTLS(pki.ClientConfig(roots, &cert)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.WhoAmI(ctx); err != nil {
		t.Errorf("the node's new certificate: %v; want it accepted", err)
	}
}

// An agent given a join token whose certificate holds starts with it
// when the first address it is given is a standby's: a standby answers
// the agents' routes 503 (the agent moves on to the leader) and
// forwards the others without the client certificate, which the leader
// then refuses; that refusal is not the certificate's.
func TestAgentKeepsItsCertificateBehindAStandby(t *testing.T) {
	s := startShortCertServer(t, time.Hour)
	ctx := context.Background()
	join, err := s.srv.MintToken(ctx, api.TokenRequest{Name: "rack", Role: string(auth.Join), Site: "local"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	first, _, _, err := enrollNode(ctx, s.url, dir, "n1", join.Secret, s.caFile)
	if err != nil {
		t.Fatalf("first enrollment: %v", err)
	}
	standby := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		if strings.HasPrefix(r.URL.Path, "/v1/agent/") {
			w.Header().Set(api.StandbyHeader, s.url)
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"status":503,"detail":"this replica is a standby"}`)
			return
		}
		w.WriteHeader(http.StatusUnauthorized) // the leader's answer to a request forwarded without its certificate
		io.WriteString(w, `{"status":401,"detail":"no credentials"}`)
	}))
	cert, err := s.ca.IssueServer([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if standby.TLS, err = pki.ServerConfig(cert, s.ca.Pool(), pki.VerifyClientCertIfGiven); err != nil {
		t.Fatal(err)
	}
	standby.StartTLS()
	t.Cleanup(standby.Close)
	held, _, _, err := enrollNode(ctx, standby.URL+","+s.url, dir, "n1", join.Secret, s.caFile)
	if err != nil || held.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) != 0 {
		t.Errorf("a start with the join token, a standby first: %v; want the certificate held, which the leader takes", err)
	}
}

// carnot dev's agent enrolls again when its certificate, far from its
// end, was revoked (carnot revoke-node on the development node): carnot
// dev is its own operator. It went on presenting the revoked one, and
// was refused at every start.
func TestDevAgentEnrollsAgainAfterItsCertificateWasRevoked(t *testing.T) {
	cp := startTestServer(t)
	ctx := context.Background()
	dir := t.TempDir()
	join, err := cp.devJoin(ctx, dir, "n1", "local")
	if err != nil || join == "" {
		t.Fatalf("first start: join token %q, %v", join, err)
	}
	first, _, _, err := enrollNode(ctx, cp.adminURL, dir, "n1", join, cp.caFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := cp.srv.RevokeNode(ctx, "n1", "test"); err != nil {
		t.Fatal(err)
	}
	join, err = cp.devJoin(ctx, dir, "n1", "local")
	if err != nil || join == "" {
		t.Fatalf("a start with the certificate revoked: join token %q, %v; want one", join, err)
	}
	cert, _, _, err := enrollNode(ctx, cp.adminURL, dir, "n1", join, cp.caFile)
	if err != nil || cert.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) == 0 {
		t.Errorf("the start's enrollment: %v; want a new certificate", err)
	}
}
