package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/pki"
)

// testTokenKey keys the test servers' token hashes.
var testTokenKey = bytes.Repeat([]byte{7}, 32)

var creds struct {
	mu     sync.Mutex
	tokens map[*Server]map[string]string // server → "role/tenant" → token
	ca     *pki.CA
	certs  map[string]*x509.Certificate // "site/node" → certificate
}

// tokenFor returns a token of s with role and tenant, minting it once.
func tokenFor(t testing.TB, s *Server, role, tenant string) string {
	t.Helper()
	creds.mu.Lock()
	defer creds.mu.Unlock()
	if creds.tokens == nil {
		creds.tokens = map[*Server]map[string]string{}
	}
	if creds.tokens[s] == nil {
		creds.tokens[s] = map[string]string{}
	}
	k := role + "/" + tenant
	if tok, ok := creds.tokens[s][k]; ok {
		return tok
	}
	name := strings.NewReplacer("/", "-").Replace(role + "-" + tenant)
	tok, err := s.MintToken(context.Background(), api.TokenRequest{Name: strings.TrimSuffix(name, "-"), Role: role, Tenant: tenant}, "test")
	if err != nil {
		t.Fatalf("minting a %s token: %v", k, err)
	}
	creds.tokens[s][k] = tok.Secret
	return tok.Secret
}

// asAdmin makes req carry an operator-admin token of s.
func asAdmin(t testing.TB, s *Server, req *http.Request) *http.Request {
	req.Header.Set("Authorization", "Bearer "+tokenFor(t, s, "operator-admin", ""))
	return req
}

// testCA is the CA the tests' node certificates come from.
func testCA(t testing.TB) *pki.CA {
	t.Helper()
	creds.mu.Lock()
	defer creds.mu.Unlock()
	if creds.ca == nil {
		ca, err := pki.NewCA()
		if err != nil {
			t.Fatal(err)
		}
		creds.ca = ca
	}
	return creds.ca
}

// nodeCert returns a certificate of the test CA for node in site.
func nodeCert(t testing.TB, site, node string) *x509.Certificate {
	t.Helper()
	ca := testCA(t)
	creds.mu.Lock()
	defer creds.mu.Unlock()
	if creds.certs == nil {
		creds.certs = map[string]*x509.Certificate{}
	}
	if c := creds.certs[site+"/"+node]; c != nil {
		return c
	}
	key, err := pki.NewNodeKey()
	if err != nil {
		t.Fatal(err)
	}
	csr, err := pki.NodeCSR(key, node)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := ca.SignNode(csr, site, node, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(certPEM)
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	creds.certs[site+"/"+node] = c
	return c
}

// asNode makes req come from node of site over a connection whose client
// certificate crypto/tls verified (what the operator listener's TLS does).
func asNode(t testing.TB, req *http.Request, site, node string) *http.Request {
	c := nodeCert(t, site, node)
	req.TLS = &tls.ConnectionState{HandshakeComplete: true, PeerCertificates: []*x509.Certificate{c},
		VerifiedChains: [][]*x509.Certificate{{c, testCA(t).Certificate()}}}
	return req
}

// credentials makes req carry an operator-admin token, or, on an agent
// route, come from the node it names, in the site it registered in.
func (e *env) credentials(req *http.Request, body []byte) *http.Request {
	rest, ok := strings.CutPrefix(req.URL.Path, "/v1/agent/")
	if !ok {
		return asAdmin(e.t, e.s, req)
	}
	if rest == "register" {
		var reg api.Register
		json.Unmarshal(body, &reg)
		if pki.CheckName(reg.Name) != nil || pki.CheckName(reg.Site) != nil {
			// No certificate names it: a valid node sends it.
			return asNode(e.t, req, "site", "node")
		}
		e.sites[reg.Name] = reg.Site
		return asNode(e.t, req, reg.Site, reg.Name)
	}
	node, _, _ := strings.Cut(strings.TrimPrefix(rest, "nodes/"), "/")
	site := e.sites[node]
	if site == "" {
		e.s.mu.Lock()
		if n := e.s.nodes[node]; n != nil {
			site = n.doc.Site
		}
		e.s.mu.Unlock()
	}
	if pki.CheckName(site) != nil {
		site = "unregistered"
	}
	if pki.CheckName(node) != nil {
		node = "node"
	}
	return asNode(e.t, req, site, node)
}
