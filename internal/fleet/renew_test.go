package fleet

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/pki"
)

// A node whose certificate has less than a third of its life left
// renews it with that certificate, without a join token (a join token
// enrolls a node name once).
func TestFleetRenewsACertificateNearItsEnd(t *testing.T) {
	s := startServerWith(t, time.Second, 2*time.Minute) // 2 minutes left of 7 from the issue
	dir := t.TempDir()
	if _, err := New(context.Background(), s.config(2, dir)); err != nil {
		t.Fatal(err)
	}
	nodeDir := filepath.Join(dir, "vn-0001")
	first, err := pki.LoadNode(nodeDir)
	if err != nil {
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
	if renewed.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) == 0 || renewed.Leaf.NotAfter.Before(first.Leaf.NotAfter) {
		t.Errorf("vn-0001's certificate after the fleet started: serial %x, valid until %s; want a new one, valid no less than the first (%s)",
			renewed.Leaf.SerialNumber, renewed.Leaf.NotAfter, first.Leaf.NotAfter)
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
