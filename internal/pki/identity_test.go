package pki

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"
)

// fixedKey signs the crafted certificates of identity tests: fast, and
// its certificates are only parsed, never verified.
var fixedKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

// certWithURIs is a certificate whose URI SANs are the given strings.
func certWithURIs(t testing.TB, uris ...string) *x509.Certificate {
	t.Helper()
	c, err := craftCert(uris)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func craftCert(uris []string) (*x509.Certificate, error) {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "crafted"},
		NotBefore:    time.Unix(0, 0),
		NotAfter:     time.Unix(1<<31, 0),
	}
	for _, s := range uris {
		u, err := url.Parse(s)
		if err != nil {
			return nil, err
		}
		tmpl.URIs = append(tmpl.URIs, u)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, fixedKey.Public(), fixedKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func TestNodeIdentity(t *testing.T) {
	tests := []struct {
		uris       []string
		site, node string // empty: want ErrNoIdentity
	}{
		{[]string{"carnot://node/par1/gpu-001"}, "par1", "gpu-001"},
		{[]string{"carnot://node/Par_1/a.b-c"}, "Par_1", "a.b-c"},
		{[]string{"spiffe://example.org/x", "carnot://node/par1/n1"}, "par1", "n1"},
		{nil, "", ""},
		{[]string{"spiffe://example.org/x"}, "", ""},
		{[]string{"carnot://node/par1/n1", "carnot://node/fra1/n1"}, "", ""},
		{[]string{"carnot://node/par1/n1", "carnot://node/par1/n1"}, "", ""},
		{[]string{"carnot://node/par1/n1", "carnot://user/alice"}, "", ""},
		{[]string{"CARNOT://node/par1/n1", "carnot://node/par1/n1"}, "", ""},
		{[]string{"carnot://node/par1"}, "", ""},
		{[]string{"carnot://node/par1/n1/extra"}, "", ""},
		{[]string{"carnot://node//n1"}, "", ""},
		{[]string{"carnot://node/par1/"}, "", ""},
		{[]string{"carnot://Node/par1/n1"}, "", ""},
		{[]string{"carnot://nodes/par1/n1"}, "", ""},
		{[]string{"carnot://node:1/par1/n1"}, "", ""},
		{[]string{"carnot://x@node/par1/n1"}, "", ""},
		{[]string{"carnot://node/par1/n1?site=fra1"}, "", ""},
		{[]string{"carnot://node/par1/n1#x"}, "", ""},
		{[]string{"carnot://node/par%2Ffra1/n1"}, "", ""},
		{[]string{"carnot://node/p%61r1/n1"}, "", ""},
		{[]string{"carnot://node/../n1"}, "", ""},
		{[]string{"carnot://node/-par/n1"}, "", ""},
		{[]string{"carnot://node/par1/" + strings.Repeat("n", 129)}, "", ""},
		{[]string{"carnot:node/par1/n1"}, "", ""},
		{[]string{"carnot:///par1/n1"}, "", ""},
	}
	for _, tc := range tests {
		site, node, err := NodeIdentity(certWithURIs(t, tc.uris...))
		if tc.site == "" {
			if !errors.Is(err, ErrNoIdentity) {
				t.Errorf("%q: got %q, %q, %v; want ErrNoIdentity", tc.uris, site, node, err)
			}
			continue
		}
		if err != nil || site != tc.site || node != tc.node {
			t.Errorf("%q: got %q, %q, %v; want %q, %q", tc.uris, site, node, err, tc.site, tc.node)
		}
	}
	if _, _, err := NodeIdentity(nil); !errors.Is(err, ErrNoIdentity) {
		t.Errorf("nil certificate: %v", err)
	}
}

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"a", "0", "par1", "gpu-001", "A.b_c-d", strings.Repeat("x", 128)} {
		if err := CheckName(ok); err != nil {
			t.Errorf("CheckName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "-a", "_a", ".a", "a/b", "a b", "é", "a%2f", strings.Repeat("x", 129), "a\x00"} {
		if err := CheckName(bad); !errors.Is(err, ErrInvalidName) {
			t.Errorf("CheckName(%q) = %v, want ErrInvalidName", bad, err)
		}
	}
}

func TestPeerIdentityNeedsVerifiedChain(t *testing.T) {
	if _, _, err := PeerIdentity(nil); !errors.Is(err, ErrNoClientCert) {
		t.Errorf("nil state: %v", err)
	}
	// A certificate the handshake did not verify is no identity.
	node := enroll(t, testCA(t, time.Now()), "par1", "n1", time.Hour)
	unverified := &tls.ConnectionState{PeerCertificates: []*x509.Certificate{node.Leaf}}
	if _, _, err := PeerIdentity(unverified); !errors.Is(err, ErrNoClientCert) {
		t.Errorf("unverified certificate: %v", err)
	}
}
