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

// A running fleet renews its nodes' certificates before they expire,
// with those certificates: their heartbeats, each on a new connection, go
// on past the end of the certificates they started with.
func TestRunningFleetRenewsItsCertificates(t *testing.T) {
	const ttl = 4 * time.Second
	s := startServerWith(t, 100*time.Millisecond, ttl)
	dir := t.TempDir()
	f := s.start(s.config(2, dir))
	var end time.Time // the latest end of the nodes' first certificates
	first := map[string]time.Time{}
	for _, n := range f.Nodes() {
		cert, err := pki.LoadNode(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		first[n] = cert.Leaf.NotAfter
		if cert.Leaf.NotAfter.After(end) {
			end = cert.Leaf.NotAfter
		}
	}
	past := end.Add(time.Second)
	s.waitFor("heartbeats past the end of the nodes' first certificates", time.Until(past)+3*ttl, func() bool {
		nodes, err := s.admin.ListNodes(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		beating := 0
		for _, n := range nodes.Nodes {
			if n.LastHeartbeat.After(past) {
				beating++
			}
		}
		return beating == len(first)
	})
	for n, was := range first {
		cert, err := pki.LoadNode(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		if !cert.Leaf.NotAfter.After(was) {
			t.Errorf("node %s's certificate in its directory expires at %s, as its first; want a renewed one", n, cert.Leaf.NotAfter)
		}
	}
}
