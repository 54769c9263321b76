package fleet

import (
	"context"
	"crypto"
	"path/filepath"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/pki"
)

// A node whose certificate has less than a third of its life left
// renews it with that certificate, without a join token (a join token
// enrolls a node name once); the others keep theirs.
func TestFleetRenewsACertificateNearItsEnd(t *testing.T) {
	s := startServer(t)
	dir := t.TempDir()
	if _, err := New(context.Background(), s.config(2, dir)); err != nil {
		t.Fatal(err)
	}
	nodeDir := filepath.Join(dir, "vn-0001")
	cert, err := pki.LoadNode(nodeDir)
	if err != nil {
		t.Fatal(err)
	}
	key := cert.PrivateKey.(crypto.Signer)
	csr, err := pki.NodeCSR(key, "vn-0001")
	if err != nil {
		t.Fatal(err)
	}
	short, err := s.ca.SignNode(csr, "local", "vn-0001", 2*time.Minute) // 2 minutes left of 7
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.SaveNode(nodeDir, key, short); err != nil {
		t.Fatal(err)
	}
	cfg := s.config(2, dir)
	cfg.JoinToken = ""
	if _, err := New(context.Background(), cfg); err != nil {
		t.Fatalf("a fleet whose node's certificate is near its end, without a join token: %v", err)
	}
	renewed, err := pki.LoadNode(nodeDir)
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(renewed.Leaf.NotAfter); left < 80*24*time.Hour {
		t.Errorf("vn-0001's certificate is valid %s more after the fleet started; want it renewed for 90 days", left)
	}
}
