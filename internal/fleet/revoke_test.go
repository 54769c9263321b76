package fleet

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/client"
	"github.com/carnot-dc/carnot/internal/pki"
)

// A fleet restarted with a join token after one of its nodes'
// certificates was revoked (carnot revoke-node) and an operator-admin
// allowed it to enroll again (carnot reenroll-node) enrolls that node
// with the token, as a single agent does: the certificate in its
// directory, far from its end, is refused by the server. (The fleet
// started with it and the node was refused at every registration.)
// Without the allowance, the fleet fails, naming the node and what to
// do; the other nodes keep their certificates.
func TestFleetEnrollsARevokedNodeWithItsJoinToken(t *testing.T) {
	s := startServer(t)
	dir := t.TempDir()
	ctx := context.Background()
	if _, err := New(ctx, s.config(2, dir)); err != nil {
		t.Fatal(err)
	}
	first, err := pki.LoadNode(filepath.Join(dir, "vn-0001"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := pki.LoadNode(filepath.Join(dir, "vn-0000"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.admin.RevokeNode(ctx, "vn-0001"); err != nil {
		t.Fatal(err)
	}
	if _, err := New(ctx, s.config(2, dir)); err == nil || !strings.Contains(err.Error(), "vn-0001") || !strings.Contains(err.Error(), "reenroll-node") {
		t.Errorf("a fleet restarted with a node revoked, not allowed to enroll again: %v; want an error naming vn-0001 and reenroll-node", err)
	}
	if _, err := s.admin.ReenrollNode(ctx, "vn-0001", 0, false); err != nil {
		t.Fatal(err)
	}
	if _, err := New(ctx, s.config(2, dir)); err != nil {
		t.Fatalf("the fleet restarted with its join token after revoke-node and reenroll-node: %v", err)
	}
	cert, err := pki.LoadNode(filepath.Join(dir, "vn-0001"))
	if err != nil {
		t.Fatal(err)
	}
	if cert.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) == 0 {
		t.Fatal("the fleet restarted with its join token kept vn-0001's revoked certificate")
	}
	cl, err := client.New(s.URL, client.WithTLS(pki.ClientConfig(s.Roots, &cert)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.WhoAmI(ctx); err != nil {
		t.Errorf("vn-0001's new certificate: %v; want it accepted", err)
	}
	kept, err := pki.LoadNode(filepath.Join(dir, "vn-0000"))
	if err != nil {
		t.Fatal(err)
	}
	if kept.Leaf.SerialNumber.Cmp(other.Leaf.SerialNumber) != 0 {
		t.Error("the fleet enrolled vn-0000 again, whose certificate holds")
	}
}

// A running fleet node whose certificate is revoked (carnot
// revoke-node) enrolls again with the fleet's join token once an
// operator-admin allowed it (carnot reenroll-node), and reports on,
// without a restart of the fleet; the other nodes keep their
// certificates. Before, it retried its refused heartbeats for ever.
func TestRunningFleetNodeEnrollsAgainOnceRevoked(t *testing.T) {
	// The join token's enrollments wait, once gated, until the
	// operator allowed the node again: the node's first try passes.
	var gated atomic.Bool
	allowed := make(chan struct{})
	s := startServerWrapped(t, 100*time.Millisecond, 0, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if gated.Load() && r.URL.Path == "/v1/agent/enroll" && r.Header.Get("Authorization") != "" {
				select {
				case <-allowed:
				case <-r.Context().Done():
				}
			}
			h.ServeHTTP(w, r)
		})
	})
	dir := t.TempDir()
	s.start(s.config(2, dir))
	first, err := pki.LoadNode(filepath.Join(dir, "vn-0001"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := pki.LoadNode(filepath.Join(dir, "vn-0000"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	gated.Store(true)
	revokedAt := time.Now()
	if err := s.admin.RevokeNode(ctx, "vn-0001"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.admin.ReenrollNode(ctx, "vn-0001", 0, false); err != nil {
		t.Fatal(err)
	}
	close(allowed)
	past := revokedAt.Add(500 * time.Millisecond)
	s.waitFor("vn-0001 heartbeating again after its revocation", 15*time.Second, func() bool {
		nodes, err := s.admin.ListNodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes.Nodes {
			if n.Name == "vn-0001" {
				return n.LastHeartbeat.After(past)
			}
		}
		return false
	})
	cert, err := pki.LoadNode(filepath.Join(dir, "vn-0001"))
	if err != nil {
		t.Fatal(err)
	}
	if cert.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) == 0 {
		t.Error("vn-0001 heartbeats again with its revoked certificate in its directory; want a new one")
	}
	kept, err := pki.LoadNode(filepath.Join(dir, "vn-0000"))
	if err != nil {
		t.Fatal(err)
	}
	if kept.Leaf.SerialNumber.Cmp(other.Leaf.SerialNumber) != 0 {
		t.Error("the fleet enrolled vn-0000 again, whose certificate holds")
	}
}
