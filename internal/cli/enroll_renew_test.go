package cli

import (
	"context"
	"crypto"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/auth"
	"github.com/carnot-dc/carnot/internal/pki"
	"github.com/carnot-dc/carnot/internal/server"
)

// startTestServer starts a control plane on SQLite in a new data
// directory, with its listeners on free ports.
func startTestServer(t *testing.T) *controlPlane {
	t.Helper()
	o := &serverOpts{listen: "127.0.0.1:0", adminListen: "127.0.0.1:0", dataDir: t.TempDir(),
		site: "local", country: "FR", heartbeat: time.Second, timeout: 10 * time.Second,
		logLevel: "error", auditRetention: server.MinAuditRetention}
	ctx, stop := context.WithCancel(context.Background())
	cp, err := startControlPlane(ctx, o, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		stop()
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(); cp.close(); cp.store.Close() })
	return cp
}

// An agent whose certificate has less than a third of its life left
// renews it with that certificate, without a join token (a join token
// enrolls a name once); once it expired, the join token's enrollment is
// refused until an operator-admin allows it (carnot reenroll-node), and
// the error says so.
func TestAgentRenewsItsCertificateWithIt(t *testing.T) {
	cp := startTestServer(t)
	ctx := context.Background()
	join, err := cp.srv.MintToken(ctx, api.TokenRequest{Name: "rack", Role: string(auth.Join), Site: "local"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, _, _, err := enrollNode(ctx, cp.adminURL, dir, "n1", join.Secret, cp.caFile); err != nil {
		t.Fatalf("first enrollment: %v", err)
	}
	// A certificate near its end (2 minutes left of 7): time to renew.
	reissue := func(ttl time.Duration) {
		cert, err := pki.LoadNode(dir)
		if err != nil {
			t.Fatal(err)
		}
		key := cert.PrivateKey.(crypto.Signer)
		csr, err := pki.NodeCSR(key, "n1")
		if err != nil {
			t.Fatal(err)
		}
		pem, err := cp.cfg.CA.SignNode(csr, "local", "n1", ttl)
		if err != nil {
			t.Fatal(err)
		}
		if err := pki.SaveNode(dir, key, pem); err != nil {
			t.Fatal(err)
		}
	}
	reissue(2 * time.Minute)
	cert, _, site, err := enrollNode(ctx, cp.adminURL, dir, "n1", "", "")
	if err != nil {
		t.Fatalf("renewing without a join token: %v", err)
	}
	if left := time.Until(cert.Leaf.NotAfter); site != "local" || left < 80*24*time.Hour {
		t.Errorf("renewed certificate of site %q, valid %s more; want site local, 90 days", site, left)
	}

	// A machine reinstalled: its key and certificate are gone. The join
	// token cannot enroll the name again until an operator-admin allows it.
	lost := t.TempDir()
	_, _, _, err = enrollNode(ctx, cp.adminURL, lost, "n1", join.Secret, cp.caFile)
	if err == nil || !strings.Contains(err.Error(), "already enrolled") || !strings.Contains(err.Error(), "carnot reenroll-node n1") {
		t.Fatalf("enrolling n1 again with the join token: %v; want a refusal naming carnot reenroll-node", err)
	}
	admin, err := cp.srv.MintToken(ctx, api.TokenRequest{Name: "admin", Role: string(auth.OperatorAdmin)}, "test")
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := carnot("reenroll-node", "n1", "--server", cp.adminURL, "--ca", cp.caFile, "--token", admin.Secret)
	if code != 0 || out != "node n1 may enroll again\n" {
		t.Fatalf("carnot reenroll-node n1: exit %d, %q, %q", code, out, errs)
	}
	if _, _, _, err := enrollNode(ctx, cp.adminURL, lost, "n1", join.Secret, cp.caFile); err != nil {
		t.Errorf("enrolling n1 with the join token after reenroll-node: %v", err)
	}
}

// carnot dev's agent enrolls again when its data directory lost its key
// and certificate: carnot dev is its own operator, and allows it.
func TestDevAgentEnrollsAgainAfterItsKeyWasLost(t *testing.T) {
	cp := startTestServer(t)
	ctx := context.Background()
	for i, dir := range []string{t.TempDir(), t.TempDir()} { // the second: the first lost
		join, err := cp.devJoin(ctx, dir, "n1", "local")
		if err != nil || join == "" {
			t.Fatalf("start %d: join token %q, %v", i+1, join, err)
		}
		if _, _, _, err := enrollNode(ctx, cp.adminURL, dir, "n1", join, cp.caFile); err != nil {
			t.Fatalf("start %d: enrolling: %v", i+1, err)
		}
		if join, err := cp.devJoin(ctx, dir, "n1", "local"); err != nil || join != "" {
			t.Errorf("start %d, again: join token %q, %v; want none (the certificate holds)", i+1, join, err)
		}
	}
}
