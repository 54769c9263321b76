package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"net"
	"net/url"
	"testing"
	"time"
)

// rawCSR signs an arbitrary CSR template with key, in PEM.
func rawCSR(t *testing.T, key crypto.Signer, tmpl *x509.CertificateRequest) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemCSR, Bytes: der})
}

// repem applies f to the DER inside a PEM CSR.
func repem(t *testing.T, csrPEM []byte, f func(der []byte) []byte) []byte {
	t.Helper()
	b, _ := pem.Decode(csrPEM)
	der := f(append([]byte(nil), b.Bytes...))
	return pem.EncodeToMemory(&pem.Block{Type: pemCSR, Bytes: der})
}

func TestSignNode(t *testing.T) {
	now := time.Now()
	ca := testCA(t, now)
	key, err := NewNodeKey()
	if err != nil {
		t.Fatal(err)
	}
	csr, err := NodeCSR(key, "gpu-001")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := ca.SignNode(csr, "par1", "gpu-001", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ParseCertPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	if site, node, err := NodeIdentity(cert); err != nil || site != "par1" || node != "gpu-001" {
		t.Errorf("NodeIdentity = %q, %q, %v", site, node, err)
	}
	if got := cert.URIs[0].String(); got != "carnot://node/par1/gpu-001" || len(cert.URIs) != 1 {
		t.Errorf("URIs %v", cert.URIs)
	}
	if cert.IsCA || len(cert.ExtKeyUsage) != 2 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth || cert.ExtKeyUsage[1] != x509.ExtKeyUsageServerAuth {
		t.Errorf("IsCA %v, ExtKeyUsage %v", cert.IsCA, cert.ExtKeyUsage)
	}
	if !samePublicKey(key, cert.PublicKey) || cert.Subject.CommonName != "gpu-001" {
		t.Errorf("key or subject wrong: %s", cert.Subject)
	}
	if !cert.NotAfter.Equal(now.Add(24*time.Hour).Truncate(time.Second)) || !cert.NotBefore.Before(now) {
		t.Errorf("validity %v to %v, now %v", cert.NotBefore, cert.NotAfter, now)
	}
	_, err = cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		t.Error(err)
	}
}

// TestSignNodeIgnoresClaims: whatever identity, names or powers a CSR
// asks for, the certificate carries only what the CA decided.
func TestSignNodeIgnoresClaims(t *testing.T) {
	ca := testCA(t, time.Now())
	key, _ := NewNodeKey()
	caTrue, _ := asn1.Marshal(struct {
		IsCA bool
	}{true})
	evil, _ := url.Parse("carnot://node/other-site/gpu-001")
	csr := rawCSR(t, key, &x509.CertificateRequest{
		Subject:        pkix.Name{CommonName: "gpu-001"},
		DNSNames:       []string{"carnot.example"},
		IPAddresses:    []net.IP{net.ParseIP("127.0.0.1")},
		EmailAddresses: []string{"root@example.org"},
		URIs:           []*url.URL{evil},
		ExtraExtensions: []pkix.Extension{
			{Id: asn1.ObjectIdentifier{2, 5, 29, 19}, Critical: true, Value: caTrue}, // basicConstraints CA
			{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Value: mustEKU(t)},             // ServerAuth
		},
	})
	certPEM, err := ca.SignNode(csr, "par1", "gpu-001", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ParseCertPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	if site, _, err := NodeIdentity(cert); err != nil || site != "par1" {
		t.Errorf("site %q, %v; want par1", site, err)
	}
	if len(cert.URIs) != 1 || len(cert.DNSNames)+len(cert.IPAddresses)+len(cert.EmailAddresses) != 0 {
		t.Errorf("SANs leaked from the CSR: %v %v %v %v", cert.URIs, cert.DNSNames, cert.IPAddresses, cert.EmailAddresses)
	}
	if cert.IsCA || len(cert.ExtKeyUsage) != 2 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth || cert.ExtKeyUsage[1] != x509.ExtKeyUsageServerAuth {
		t.Errorf("powers leaked from the CSR: IsCA %v, ExtKeyUsage %v", cert.IsCA, cert.ExtKeyUsage)
	}
}

func mustEKU(t *testing.T) []byte {
	b, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 1}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSignNodeRefuses(t *testing.T) {
	ca := testCA(t, time.Now())
	key, _ := NewNodeKey()
	good, _ := NodeCSR(key, "gpu-001")
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)

	tests := []struct {
		name       string
		csr        []byte
		site, node string
		want       error
	}{
		{"broken signature", repem(t, good, func(d []byte) []byte { d[len(d)-1] ^= 1; return d }), "par1", "gpu-001", ErrBadCSR},
		{"subject changed after signing", repem(t, good, func(d []byte) []byte {
			return bytes.Replace(d, []byte("gpu-001"), []byte("gpu-002"), 1)
		}), "par1", "gpu-002", ErrBadCSR},
		{"node mismatch", good, "par1", "gpu-002", ErrNodeMismatch},
		{"bad site", good, "par/1", "gpu-001", ErrInvalidName},
		{"empty site", good, "", "gpu-001", ErrInvalidName},
		{"bad node", good, "par1", "../gpu-001", ErrInvalidName},
		{"P-521 key", rawCSR(t, p521, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "gpu-001"}}), "par1", "gpu-001", ErrBadCSR},
		{"two common names", rawCSR(t, key, &x509.CertificateRequest{Subject: pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
			{Type: oidCommonName, Value: "evil"}, {Type: oidCommonName, Value: "gpu-001"}}}}), "par1", "gpu-001", ErrBadCSR},
		{"extra subject fields", rawCSR(t, key, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "gpu-001", Organization: []string{"par1"}}}), "par1", "gpu-001", ErrBadCSR},
		{"no subject", rawCSR(t, key, &x509.CertificateRequest{}), "par1", "gpu-001", ErrBadCSR},
		{"not PEM", []byte("hello"), "par1", "gpu-001", ErrBadCSR},
		{"DER", func() []byte { b, _ := pem.Decode(good); return b.Bytes }(), "par1", "gpu-001", ErrBadCSR},
		{"certificate PEM", ca.CertPEM(), "par1", "gpu-001", ErrBadCSR},
		{"trailing data", append(append([]byte(nil), good...), "junk"...), "par1", "gpu-001", ErrBadCSR},
		{"leading data", append([]byte("junk\n"), good...), "par1", "gpu-001", ErrBadCSR},
		{"two CSRs", append(append([]byte(nil), good...), good...), "par1", "gpu-001", ErrBadCSR},
		{"too large", append(append([]byte(nil), good...), bytes.Repeat([]byte(" "), maxCSR)...), "par1", "gpu-001", ErrBadCSR},
	}
	for _, tc := range tests {
		_, err := ca.SignNode(tc.csr, tc.site, tc.node, time.Hour)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := ca.SignNode(good, "par1", "gpu-001", 0); err == nil {
		t.Error("ttl 0: want an error")
	}
	// Ed25519 keys are accepted.
	ed := rawCSR(t, edKey, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "gpu-001"}})
	if _, err := ca.SignNode(ed, "par1", "gpu-001", time.Hour); err != nil {
		t.Errorf("Ed25519 CSR: %v", err)
	}
	if _, err := NodeCSR(key, "bad/name"); !errors.Is(err, ErrInvalidName) {
		t.Errorf("NodeCSR with a bad name: %v", err)
	}
}

func TestExpiredCARefusesToSign(t *testing.T) {
	ca := testCA(t, time.Now())
	ca.now = func() time.Time { return ca.cert.NotAfter.Add(time.Minute) }
	key, _ := NewNodeKey()
	csr, _ := NodeCSR(key, "n1")
	if _, err := ca.SignNode(csr, "par1", "n1", time.Hour); err == nil {
		t.Error("an expired CA signed")
	}
}
