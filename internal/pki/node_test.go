package pki

import (
	"crypto/ecdsa"
	"crypto/x509"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNodePersistence(t *testing.T) {
	ca := testCA(t, time.Now())
	dir := filepath.Join(t.TempDir(), "node")
	if _, err := LoadNode(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("before enrollment: %v, want fs.ErrNotExist", err)
	}
	key, _ := NewNodeKey()
	csr, _ := NodeCSR(key, "gpu-001")
	certPEM, err := ca.SignNode(csr, "par1", "gpu-001", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := SaveNode(dir, key, certPEM); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]fs.FileMode{".": 0o700, NodeKeyFile: 0o600, NodeCertFile: 0o644} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != want {
			t.Errorf("%s: mode %#o, want %#o", name, got, want)
		}
	}
	cert, err := LoadNode(dir)
	if err != nil {
		t.Fatal(err)
	}
	if site, node, err := NodeIdentity(cert.Leaf); err != nil || site != "par1" || node != "gpu-001" {
		t.Errorf("loaded identity %q, %q, %v", site, node, err)
	}
	if !samePublicKey(key, cert.Leaf.PublicKey) {
		t.Error("loaded another key")
	}

	// Renewal with the same key replaces the certificate.
	renewed, err := ca.SignNode(csr, "par1", "gpu-001", 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := SaveNode(dir, key, renewed); err != nil {
		t.Fatal(err)
	}
	if cert2, err := LoadNode(dir); err != nil || !cert2.Leaf.NotAfter.After(cert.Leaf.NotAfter) {
		t.Errorf("after renewal: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("leftover files: %v", entries)
	}
}

func TestSaveNodeRefuses(t *testing.T) {
	ca := testCA(t, time.Now())
	key, _ := NewNodeKey()
	other, _ := NewNodeKey()
	csr, _ := NodeCSR(key, "n1")
	certPEM, _ := ca.SignNode(csr, "par1", "n1", time.Hour)
	srv := serverCert(t, ca)
	srvKey := srv.PrivateKey.(*ecdsa.PrivateKey)
	for name, tc := range map[string]struct {
		key  *ecdsa.PrivateKey
		cert []byte
	}{
		"another key":      {other, certPEM},
		"server cert":      {srvKey, encodeCertPEM(srv.Certificate[0])},
		"garbage":          {key, []byte("nope")},
		"two certificates": {key, append(append([]byte(nil), certPEM...), certPEM...)},
	} {
		dir := t.TempDir()
		if err := SaveNode(dir, tc.key, tc.cert); err == nil {
			t.Errorf("%s: saved", name)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%s: wrote %v", name, entries)
		}
	}
}

func TestLoadNodeRefuses(t *testing.T) {
	ca := testCA(t, time.Now())
	save := func(t *testing.T) string {
		dir := t.TempDir()
		key, _ := NewNodeKey()
		csr, _ := NodeCSR(key, "n1")
		certPEM, _ := ca.SignNode(csr, "par1", "n1", time.Hour)
		if err := SaveNode(dir, key, certPEM); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	t.Run("mismatched pair", func(t *testing.T) {
		dir, other := save(t), save(t)
		b, _ := os.ReadFile(filepath.Join(other, NodeKeyFile))
		_ = os.WriteFile(filepath.Join(dir, NodeKeyFile), b, 0o600)
		if _, err := LoadNode(dir); err == nil || !strings.Contains(err.Error(), "enroll") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("key readable by others", func(t *testing.T) {
		dir := save(t)
		_ = os.Chmod(filepath.Join(dir, NodeKeyFile), 0o640)
		if _, err := LoadNode(dir); !errors.Is(err, ErrKeyPermissions) {
			t.Errorf("got %v, want ErrKeyPermissions", err)
		}
	})
	t.Run("no key", func(t *testing.T) {
		dir := save(t)
		_ = os.Remove(filepath.Join(dir, NodeKeyFile))
		if _, err := LoadNode(dir); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), NodeKeyFile) {
			t.Errorf("got %v", err)
		}
	})
}

func TestExpiresWithin(t *testing.T) {
	notAfter := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &x509.Certificate{NotAfter: notAfter}
	for _, tc := range []struct {
		now  time.Time
		d    time.Duration
		want bool
	}{
		{notAfter.Add(-2 * time.Hour), time.Hour, false},
		{notAfter.Add(-time.Hour), time.Hour, true},
		{notAfter.Add(-30 * time.Minute), time.Hour, true},
		{notAfter.Add(time.Minute), 0, true},
		{notAfter.Add(-time.Minute), 0, false},
	} {
		if got := ExpiresWithin(c, tc.now, tc.d); got != tc.want {
			t.Errorf("ExpiresWithin(now %v, %v) = %v", tc.now, tc.d, got)
		}
	}
}

// A save of a new key that stops between its files (a crash) leaves a
// node that loads: the new certificate waits beside the old one until
// the key is in place, and LoadNode finishes the save.
func TestSaveNodeOfANewKeySurvivesACrash(t *testing.T) {
	ca := testCA(t, time.Now())
	dir := filepath.Join(t.TempDir(), "node")
	sign := func(key *ecdsa.PrivateKey) []byte {
		csr, _ := NodeCSR(key, "gpu-001")
		c, err := ca.SignNode(csr, "par1", "gpu-001", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	old, _ := NewNodeKey()
	if err := SaveNode(dir, old, sign(old)); err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{"certificate", "key"} {
		key, _ := NewNodeKey()
		func() {
			defer func() { _ = recover() }()
			saveNodeStep = func(s string) {
				if s == step {
					panic("crash")
				}
			}
			defer func() { saveNodeStep = func(string) {} }()
			_ = SaveNode(dir, key, sign(key))
			t.Fatalf("the save did not stop after its %s", step)
		}()
		cert, err := LoadNode(dir)
		if err != nil {
			t.Fatalf("a save stopped after its %s: %v", step, err)
		}
		want := old
		if step == "key" {
			want = key // the key is in place: its certificate goes with it
		}
		if !samePublicKey(want, cert.Leaf.PublicKey) {
			t.Errorf("a save stopped after its %s: loaded another key's certificate", step)
		}
		old = want
		if err := SaveNode(dir, old, sign(old)); err != nil {
			t.Fatal(err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 2 {
			t.Errorf("after a save that stopped after its %s, then a whole one: files %v", step, entries)
		}
	}
}
