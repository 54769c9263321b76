package pki

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzNodeIdentity: certificates with arbitrary URI SANs never panic
// NodeIdentity, and whatever it accepts is exactly one carnot URI in
// the canonical form of two valid names.
func FuzzNodeIdentity(f *testing.F) {
	for _, seed := range [][2]string{
		{"carnot://node/par1/gpu-001", ""},
		{"carnot://node/par1/n1", "carnot://node/fra1/n1"},
		{"spiffe://example.org/x", "carnot://node/par1/n1"},
		{"carnot://node/par%2F1/n1", ""},
		{"carnot://node/par1/n1?x#y", ""},
		{"CARNOT://x@node:1//..", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		uris := []string{a}
		if b != "" {
			uris = append(uris, b)
		}
		cert, err := craftCert(uris)
		if err != nil {
			t.Skip() // not a URI x509 can carry
		}
		site, node, err := NodeIdentity(cert)
		if err != nil {
			if !errors.Is(err, ErrNoIdentity) {
				t.Fatalf("error %v does not wrap ErrNoIdentity", err)
			}
			return
		}
		if CheckName(site) != nil || CheckName(node) != nil {
			t.Fatalf("accepted invalid names %q, %q", site, node)
		}
		want, _ := NodeURI(site, node)
		n := 0
		for _, u := range cert.URIs {
			if strings.EqualFold(u.Scheme, uriScheme) {
				n++
				if u.String() != want.String() {
					t.Fatalf("accepted %q as %s", u, want)
				}
			}
		}
		if n != 1 {
			t.Fatalf("accepted %d carnot URIs", n)
		}
	})
}

// FuzzParseCSR: arbitrary bytes never panic ParseCSR or SignNode, and a
// CSR SignNode accepts yields the identity the CA was asked for.
func FuzzParseCSR(f *testing.F) {
	ca := testCA(f, time.Now())
	key, _ := NewNodeKey()
	good, err := NodeCSR(key, "n1")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte("-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n"))
	f.Add(ca.CertPEM())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		csr, err := ParseCSR(data)
		if err != nil {
			if !errors.Is(err, ErrBadCSR) {
				t.Fatalf("error %v does not wrap ErrBadCSR", err)
			}
			return
		}
		if csr.CheckSignature() != nil {
			t.Fatal("accepted a CSR whose signature does not verify")
		}
		certPEM, err := ca.SignNode(data, "par1", "n1", time.Hour)
		if err != nil {
			return
		}
		cert, err := ParseCertPEM(certPEM)
		if err != nil {
			t.Fatal(err)
		}
		if site, node, err := NodeIdentity(cert); err != nil || site != "par1" || node != "n1" {
			t.Fatalf("signed identity %q, %q, %v", site, node, err)
		}
	})
}
