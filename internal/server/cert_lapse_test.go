package server

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/pki"
)

// nodeKeyPair is a certificate of the test CA for node in site, valid
// from now for ttl, with its key.
func nodeKeyPair(t *testing.T, site, node string, ttl time.Duration) tls.Certificate {
	t.Helper()
	key, err := pki.NewNodeKey()
	if err != nil {
		t.Fatal(err)
	}
	csr, err := pki.NodeCSR(key, node)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := testCA(t).SignNode(csr, site, node, ttl)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(certPEM)
	leaf, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{b.Bytes}, PrivateKey: key, Leaf: leaf}
}

// A node's certificate is checked at each request, not only at the
// handshake of the connection that carries it: once it has expired, a
// request on a connection the agent kept open since is refused (401,
// saying it expired and that the agent renews it), and the server closes
// that connection, so that the agent's next one presents its renewed
// certificate.
func TestExpiredNodeCertificateOnAKeptConnectionIsRefused(t *testing.T) {
	certClock := &clock{t: time.Now()}
	e := openEnv(t, t.TempDir(), DevFacility("local", "FR"), true,
		&clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}, func(c *Config) { c.CertNow = certClock.now })
	ca := testCA(t)
	srvCert, err := ca.IssueServer([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(e.s.Handler())
	if hs.TLS, err = pki.ServerConfig(srvCert, ca.Pool(), pki.VerifyClientCertIfGiven); err != nil {
		t.Fatal(err)
	}
	hs.StartTLS()
	defer hs.Close()
	held := pki.NewNodeCert(nodeKeyPair(t, "local", "n1", time.Hour))
	tr := &http.Transport{TLSClientConfig: held.ClientConfig(ca.Pool())}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}

	whoami := func() (status int, reused bool, body []byte, closed bool) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, hs.URL+"/v1/whoami", nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(),
			&httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ = io.ReadAll(resp.Body)
		return resp.StatusCode, reused, body, resp.Close
	}
	if status, _, body, _ := whoami(); status != http.StatusOK || !strings.Contains(string(body), "node:n1") {
		t.Fatalf("whoami with a valid node certificate: %d %s", status, body)
	}
	certClock.add(time.Hour + time.Second) // past the certificate's end
	status, reused, body, closed := whoami()
	if !reused {
		t.Fatal("the second request did not reuse the first one's connection: the test proves nothing")
	}
	var p api.Problem
	json.Unmarshal(body, &p)
	if status != http.StatusUnauthorized || !strings.Contains(p.Detail, "expired") || !strings.Contains(p.Detail, "renew") {
		t.Errorf("a request on a kept connection whose node certificate expired: %d %q; want 401 saying it expired and to renew it", status, p.Detail)
	}
	if !closed {
		t.Errorf("the server keeps the connection of an expired node certificate open; want it closed (Connection: close)")
	}

	// The renewed certificate, on the new connection the agent makes.
	held.Set(nodeKeyPair(t, "local", "n1", 3*time.Hour))
	if status, reused, body, _ := whoami(); status != http.StatusOK || reused {
		t.Errorf("whoami with the renewed certificate: %d (reused connection: %v) %s; want 200 on a new connection", status, reused, body)
	}
}
