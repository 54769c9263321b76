package pki

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadOrCreateCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca") // missing: created 0700
	ca, created, err := LoadOrCreateCA(dir)
	if err != nil || !created {
		t.Fatalf("first start: created %v, %v", created, err)
	}
	if cn := ca.Certificate().Subject.CommonName; !strings.HasPrefix(cn, "Carnot development CA ") || len(cn) <= len("Carnot development CA ") {
		t.Errorf("common name %q", cn)
	}
	c := ca.Certificate()
	if !c.IsCA || c.NotAfter.Sub(c.NotBefore) < 9*365*24*time.Hour || c.PublicKeyAlgorithm.String() != "ECDSA" {
		t.Errorf("CA certificate: IsCA %v, %v to %v, %v", c.IsCA, c.NotBefore, c.NotAfter, c.PublicKeyAlgorithm)
	}
	for name, want := range map[string]fs.FileMode{".": 0o700, CAKeyFile: 0o600, CACertFile: 0o644} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != want {
			t.Errorf("%s: mode %#o, want %#o", name, got, want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("leftover files: %v", entries)
	}

	again, created, err := LoadOrCreateCA(dir)
	if err != nil || created {
		t.Fatalf("second start: created %v, %v", created, err)
	}
	if !again.Certificate().Equal(ca.Certificate()) || !bytes.Equal(again.CertPEM(), ca.CertPEM()) {
		t.Error("loaded another CA")
	}
	// The loaded key signs what the first CA's pool verifies.
	node := enroll(t, again, "par1", "n1", time.Hour)
	if _, err := node.Leaf.Verify(verifyClient(ca)); err != nil {
		t.Error(err)
	}
	// Save never replaces a CA.
	if err := again.Save(dir); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Save over an existing CA: %v, want fs.ErrExist", err)
	}
}

func TestLoadCARefuses(t *testing.T) {
	setup := func(t *testing.T) string {
		dir := t.TempDir()
		if _, _, err := LoadOrCreateCA(dir); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	t.Run("half state", func(t *testing.T) {
		for _, missing := range []string{CACertFile, CAKeyFile} {
			dir := setup(t)
			if err := os.Remove(filepath.Join(dir, missing)); err != nil {
				t.Fatal(err)
			}
			_, _, err := LoadOrCreateCA(dir)
			if err == nil || !strings.Contains(err.Error(), missing) {
				t.Errorf("without %s: %v", missing, err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("without %s: the directory changed: %v", missing, entries)
			}
		}
	})
	t.Run("key readable by others", func(t *testing.T) {
		dir := setup(t)
		if err := os.Chmod(filepath.Join(dir, CAKeyFile), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadCA(dir); !errors.Is(err, ErrKeyPermissions) {
			t.Errorf("got %v, want ErrKeyPermissions", err)
		}
	})
	t.Run("key of another CA", func(t *testing.T) {
		dir, other := setup(t), setup(t)
		key, _ := os.ReadFile(filepath.Join(other, CAKeyFile))
		if err := os.WriteFile(filepath.Join(dir, CAKeyFile), key, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadCA(dir); err == nil || !strings.Contains(err.Error(), CAKeyFile) {
			t.Errorf("got %v, want an error naming %s", err, CAKeyFile)
		}
	})
	t.Run("not a CA", func(t *testing.T) {
		dir := setup(t)
		ca, err := LoadCA(dir)
		if err != nil {
			t.Fatal(err)
		}
		node := enroll(t, ca, "par1", "n1", time.Hour)
		keyPEM, err := encodeKeyPEM(node.PrivateKey.(crypto.Signer))
		if err != nil {
			t.Fatal(err)
		}
		_ = os.WriteFile(filepath.Join(dir, CAKeyFile), keyPEM, 0o600)
		_ = os.WriteFile(filepath.Join(dir, CACertFile), encodeCertPEM(node.Leaf.Raw), 0o644)
		if _, err := LoadCA(dir); err == nil || !strings.Contains(err.Error(), "not a CA") {
			t.Errorf("got %v, want not a CA", err)
		}
	})
	t.Run("expired", func(t *testing.T) {
		dir := t.TempDir()
		old, err := newCA(time.Now().Add(-11 * 365 * 24 * time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if err := old.Save(dir); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadCA(dir); err == nil || !strings.Contains(err.Error(), "expired") {
			t.Errorf("got %v, want expired", err)
		}
	})
	t.Run("garbage", func(t *testing.T) {
		dir := setup(t)
		if err := os.WriteFile(filepath.Join(dir, CACertFile), []byte("nope"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadCA(dir); err == nil || !strings.Contains(err.Error(), CACertFile) {
			t.Errorf("got %v, want an error naming %s", err, CACertFile)
		}
	})
}

// verifyClient is how a server checks a node certificate from ca.
func verifyClient(ca *CA) x509.VerifyOptions {
	return x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
}
