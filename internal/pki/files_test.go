package pki

import (
	"crypto"
	"crypto/tls"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writePair writes an issued certificate and its key as an operator would.
func writePair(t *testing.T, dir string, c tls.Certificate) (certFile, keyFile string) {
	t.Helper()
	keyPEM, err := encodeKeyPEM(c.PrivateKey.(crypto.Signer))
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, encodeCertPEM(c.Certificate[0]), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestLoadKeyPair(t *testing.T) {
	ca := testCA(t, time.Now())
	certFile, keyFile := writePair(t, t.TempDir(), serverCert(t, ca))
	pair, err := LoadKeyPair(certFile, keyFile)
	if err != nil || pair.Leaf == nil || pair.Leaf.DNSNames[0] != "localhost" {
		t.Fatalf("LoadKeyPair: %v", err)
	}

	_, otherKey := writePair(t, t.TempDir(), serverCert(t, ca))
	past := testCA(t, time.Now().Add(-48*time.Hour))
	past.cert, past.key = ca.cert, ca.key
	expired, err := past.IssueServer([]string{"localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	expCert, expKey := writePair(t, t.TempDir(), expired)
	missing := filepath.Join(t.TempDir(), "missing.pem")
	for _, tc := range []struct {
		name, cert, key, mention string
	}{
		{"missing cert", missing, keyFile, missing},
		{"missing key", certFile, missing, missing},
		{"mismatched key", certFile, otherKey, otherKey},
		{"expired", expCert, expKey, expCert},
	} {
		_, err := LoadKeyPair(tc.cert, tc.key)
		if err == nil || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("%s: got %v, want an error naming %s", tc.name, err, tc.mention)
		}
	}
	if _, err := LoadKeyPair(missing, keyFile); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
}

func TestLoadPool(t *testing.T) {
	now := time.Now()
	a, b := testCA(t, now), testCA(t, now)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	both := write("both.pem", append(a.CertPEM(), b.CertPEM()...))
	pool, err := LoadPool(both)
	if err != nil {
		t.Fatal(err)
	}
	for _, ca := range []*CA{a, b} {
		node := enroll(t, ca, "par1", "n1", time.Hour)
		opts := verifyClient(ca)
		opts.Roots = pool
		if _, err := node.Leaf.Verify(opts); err != nil {
			t.Error(err)
		}
	}
	keyPEM, _ := encodeKeyPEM(a.key)
	for name, data := range map[string][]byte{
		"empty.pem":   nil,
		"text.pem":    []byte("not pem"),
		"key.pem":     append(a.CertPEM(), keyPEM...),
		"corrupt.pem": []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
	} {
		p := write(name, data)
		if _, err := LoadPool(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: got %v, want an error naming the file", name, err)
		}
	}
	if _, err := LoadPool(filepath.Join(dir, "missing.pem")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
