package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMutualTLS(t *testing.T) {
	now := time.Now()
	ca := testCA(t, now)
	other := testCA(t, now)
	past := testCA(t, now.Add(-48*time.Hour)) // same CA key, clock two days back
	past.cert, past.key, past.certPEM = ca.cert, ca.key, ca.certPEM

	good := enroll(t, ca, "par1", "gpu-001", time.Hour)
	foreign := enroll(t, other, "par1", "gpu-001", time.Hour)
	expired := enroll(t, past, "par1", "gpu-001", time.Hour)
	srv := serverCert(t, ca)

	// The Go client offers its certificate only to a server that names
	// its issuer; forced presents it anyway, as a hostile client would.
	tests := []struct {
		name     string
		mode     ClientAuth
		client   *tls.Certificate
		forced   bool
		ok       bool // the handshake succeeds
		identity bool // and the server sees the node's identity
	}{
		{"require, CA-signed node", RequireClientCert, &good, false, true, true},
		{"require, node of another CA", RequireClientCert, &foreign, false, false, false},
		{"require, node of another CA, forced", RequireClientCert, &foreign, true, false, false},
		{"require, expired node", RequireClientCert, &expired, true, false, false},
		{"require, no certificate", RequireClientCert, nil, false, false, false},
		{"request, no certificate", VerifyClientCertIfGiven, nil, false, true, false},
		{"request, CA-signed node", VerifyClientCertIfGiven, &good, false, true, true},
		{"request, node of another CA", VerifyClientCertIfGiven, &foreign, false, true, false},
		{"request, node of another CA, forced", VerifyClientCertIfGiven, &foreign, true, false, false},
		{"request, expired node", VerifyClientCertIfGiven, &expired, true, false, false},
		{"none, CA-signed node", NoClientCert, &good, true, true, false},
		// A server certificate (ServerAuth only) cannot stand in for a node.
		{"require, server certificate as client", RequireClientCert, &srv, true, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			scfg, err := ServerConfig(srv, ca.Pool(), tc.mode)
			if err != nil {
				t.Fatal(err)
			}
			ccfg := ClientConfig(ca.Pool(), tc.client)
			if tc.forced {
				ccfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
					return tc.client, nil
				}
			}
			r := handshake(t, scfg, ccfg)
			if !tc.ok {
				if r.serverErr == nil || r.clientErr == nil {
					t.Fatalf("want the handshake refused; server: %v; client: %v", r.serverErr, r.clientErr)
				}
				return
			}
			if r.serverErr != nil || r.clientErr != nil {
				t.Fatalf("want success; server: %v; client: %v", r.serverErr, r.clientErr)
			}
			site, node, err := PeerIdentity(&r.state)
			if tc.identity {
				if err != nil || site != "par1" || node != "gpu-001" {
					t.Errorf("PeerIdentity = %q, %q, %v; want par1, gpu-001", site, node, err)
				}
			} else if !errors.Is(err, ErrNoClientCert) {
				t.Errorf("PeerIdentity = %q, %q, %v; want ErrNoClientCert", site, node, err)
			}
		})
	}
}

func TestClientRefusesServer(t *testing.T) {
	now := time.Now()
	ca, other := testCA(t, now), testCA(t, now)
	past := testCA(t, now.Add(-48*time.Hour))
	past.cert, past.key, past.certPEM = ca.cert, ca.key, ca.certPEM
	expired, err := past.IssueServer([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	onlyDNS, err := ca.IssueServer([]string{"carnot.example"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	node := enroll(t, ca, "par1", "gpu-001", time.Hour)
	for name, cert := range map[string]tls.Certificate{
		"other CA":       serverCert(t, other),
		"expired":        expired,
		"wrong host":     onlyDNS,
		"node as server": node,
	} {
		t.Run(name, func(t *testing.T) {
			scfg, err := ServerConfig(cert, nil, NoClientCert)
			if err != nil {
				t.Fatal(err)
			}
			if r := handshake(t, scfg, ClientConfig(ca.Pool(), nil)); r.clientErr == nil {
				t.Fatal("client accepted the server")
			}
		})
	}
}

// TestHTTP shows the wiring: an agent's http.Client and a handler that
// reads the node's site from its verified certificate.
func TestHTTP(t *testing.T) {
	ca := testCA(t, time.Now())
	scfg, err := ServerConfig(serverCert(t, ca), ca.Pool(), RequireClientCert)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		site, node, err := PeerIdentity(r.TLS)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, site+"/"+node)
	}))
	ts.TLS = scfg
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused client below
	ts.StartTLS()
	defer ts.Close()

	node := enroll(t, ca, "fra2", "gpu-7", time.Hour)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: ClientConfig(ca.Pool(), &node)}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "fra2/gpu-7" {
		t.Errorf("got %d %q, want 200 fra2/gpu-7", resp.StatusCode, body)
	}
	if resp.TLS == nil || resp.TLS.Version != tls.VersionTLS13 {
		t.Errorf("want TLS 1.3, got %+v", resp.TLS)
	}

	anon := &http.Client{Transport: &http.Transport{TLSClientConfig: ClientConfig(ca.Pool(), nil)}}
	defer anon.CloseIdleConnections()
	if resp, err := anon.Get(ts.URL); err == nil {
		resp.Body.Close()
		t.Error("a client without a certificate got through")
	}
}

func TestServerConfig(t *testing.T) {
	ca := testCA(t, time.Now())
	srv := serverCert(t, ca)
	for _, m := range []ClientAuth{VerifyClientCertIfGiven, RequireClientCert, ClientAuth(7)} {
		if _, err := ServerConfig(srv, nil, m); err == nil {
			t.Errorf("mode %s without a CA pool: want an error", m)
		}
	}
	cfg, err := ServerConfig(srv, nil, NoClientCert)
	if err != nil || cfg.MinVersion != tls.VersionTLS13 || cfg.ClientAuth != tls.NoClientCert {
		t.Errorf("ServerConfig none = %+v, %v", cfg, err)
	}
	if c := ClientConfig(nil, nil); c.MinVersion != tls.VersionTLS13 || c.InsecureSkipVerify {
		t.Errorf("ClientConfig = %+v", c)
	}
	// TLS 1.2 clients are refused.
	scfg, _ := ServerConfig(srv, nil, NoClientCert)
	old := ClientConfig(ca.Pool(), nil)
	old.MinVersion, old.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	if r := handshake(t, scfg, old); r.serverErr == nil {
		t.Error("a TLS 1.2 client got through")
	}
}

func TestParseClientAuth(t *testing.T) {
	for _, m := range []ClientAuth{NoClientCert, VerifyClientCertIfGiven, RequireClientCert} {
		got, err := ParseClientAuth(m.String())
		if err != nil || got != m {
			t.Errorf("ParseClientAuth(%q) = %v, %v", m, got, err)
		}
	}
	if _, err := ParseClientAuth("optional"); err == nil {
		t.Error("ParseClientAuth(optional): want an error")
	}
}

func TestIssueServer(t *testing.T) {
	ca := testCA(t, time.Now())
	c, err := ca.IssueServer([]string{"carnot.example", "*.nodes.example", "10.0.0.1", "::1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Leaf.DNSNames, ","); got != "carnot.example,*.nodes.example" {
		t.Errorf("DNS SANs %s", got)
	}
	if len(c.Leaf.IPAddresses) != 2 || len(c.Leaf.URIs) != 0 {
		t.Errorf("IP SANs %v, URIs %v", c.Leaf.IPAddresses, c.Leaf.URIs)
	}
	if len(c.Leaf.ExtKeyUsage) != 1 || c.Leaf.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth || c.Leaf.IsCA {
		t.Errorf("ExtKeyUsage %v, IsCA %v", c.Leaf.ExtKeyUsage, c.Leaf.IsCA)
	}
	if _, err := c.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "carnot.example"}); err != nil {
		t.Error(err)
	}
	for _, hosts := range [][]string{nil, {"bad host"}, {"a..b"}, {"[::1]"}, {"-x.example"}, {""}} {
		if _, err := ca.IssueServer(hosts, time.Hour); err == nil {
			t.Errorf("IssueServer(%q): want an error", hosts)
		}
	}
	if _, err := ca.IssueServer([]string{"localhost"}, 0); err == nil {
		t.Error("IssueServer with ttl 0: want an error")
	}
	// Capped at the CA's expiry.
	c, err = ca.IssueServer([]string{"localhost"}, 100*365*24*time.Hour)
	if err != nil || !c.Leaf.NotAfter.Equal(ca.cert.NotAfter) {
		t.Errorf("long ttl: NotAfter %v, CA %v, err %v", c.Leaf.NotAfter, ca.cert.NotAfter, err)
	}
}
