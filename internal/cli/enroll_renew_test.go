package cli

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/auth"
	"github.com/carnot-dc/carnot/internal/server"
)

// startTestServer starts a control plane on SQLite in a new data
// directory, with its listeners on free ports.
func startTestServer(t *testing.T, mods ...func(*serverOpts)) *controlPlane {
	t.Helper()
	o := &serverOpts{listen: "127.0.0.1:0", adminListen: "127.0.0.1:0", dataDir: t.TempDir(),
		site: "local", country: "FR", heartbeat: time.Second, timeout: 10 * time.Second,
		logLevel: "error", auditRetention: server.MinAuditRetention}
	for _, mod := range mods {
		mod(o)
	}
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
	// Certificates of 2 minutes (7 of life, backdated 5): each is near
	// its end, time to renew, from its issue.
	cp := startTestServer(t, func(o *serverOpts) { o.nodeCertTTL = 2 * time.Minute })
	ctx := context.Background()
	join, err := cp.srv.MintToken(ctx, api.TokenRequest{Name: "rack", Role: string(auth.Join), Site: "local"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	first, _, _, err := enrollNode(ctx, cp.adminURL, dir, "n1", join.Secret, cp.caFile)
	if err != nil {
		t.Fatalf("first enrollment: %v", err)
	}
	cert, _, site, err := enrollNode(ctx, cp.adminURL, dir, "n1", "", "")
	if err != nil {
		t.Fatalf("renewing without a join token: %v", err)
	}
	if site != "local" || cert.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) == 0 || cert.Leaf.NotAfter.Before(first.Leaf.NotAfter) {
		t.Errorf("renewed certificate of site %q, serial %x, valid until %s; want site local, a new certificate valid no less than the first (%s)",
			site, cert.Leaf.SerialNumber, cert.Leaf.NotAfter, first.Leaf.NotAfter)
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
	if code, _, errs := carnot("reenroll-node", "n1", "--ttl", "200h", "--server", cp.adminURL, "--ca", cp.caFile, "--token", admin.Secret); code != ExitUsage || !strings.Contains(errs, "--ttl 200h0m0s: from 1s to 168h") {
		t.Errorf("carnot reenroll-node --ttl 200h: exit %d, %q; want a usage error", code, errs)
	}
	code, out, errs := carnot("reenroll-node", "n1", "--ttl", "30m", "--server", cp.adminURL, "--ca", cp.caFile, "--token", admin.Secret)
	if code != 0 || !strings.HasPrefix(out, "node n1 may enroll again with a join token of site local until ") || !strings.HasSuffix(out, " (in 30m0s)\n") {
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

// carnot revoke-node refuses a node's certificates over mTLS at once:
// its agent cannot even renew, and enrolls again only once an
// operator-admin allowed it (carnot reenroll-node).
func TestRevokedNodeCannotRenew(t *testing.T) {
	cp := startTestServer(t, func(o *serverOpts) { o.nodeCertTTL = 2 * time.Minute }) // renewed at every start
	ctx := context.Background()
	join, err := cp.srv.MintToken(ctx, api.TokenRequest{Name: "rack", Role: string(auth.Join), Site: "local"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := cp.srv.MintToken(ctx, api.TokenRequest{Name: "admin", Role: string(auth.OperatorAdmin)}, "test")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, _, _, err := enrollNode(ctx, cp.adminURL, dir, "n1", join.Secret, cp.caFile); err != nil {
		t.Fatalf("first enrollment: %v", err)
	}
	code, out, errs := carnot("revoke-node", "n1", "--server", cp.adminURL, "--ca", cp.caFile, "--token", admin.Secret)
	if code != 0 || out != "node n1 is refused from now: its certificates are revoked\n" {
		t.Fatalf("carnot revoke-node n1: exit %d, %q, %q", code, out, errs)
	}
	_, _, _, err = enrollNode(ctx, cp.adminURL, dir, "n1", "", "")
	if err == nil || !strings.Contains(err.Error(), "revoked") || !strings.Contains(err.Error(), "carnot reenroll-node n1") {
		t.Fatalf("n1 renewing its revoked certificate: %v; want a refusal saying it was revoked and how to enroll again", err)
	}
	if code, out, errs := carnot("reenroll-node", "n1", "--server", cp.adminURL, "--ca", cp.caFile, "--token", admin.Secret); code != 0 {
		t.Fatalf("carnot reenroll-node n1: exit %d, %q, %q", code, out, errs)
	}
	if _, _, _, err := enrollNode(ctx, cp.adminURL, t.TempDir(), "n1", join.Secret, cp.caFile); err != nil {
		t.Errorf("enrolling n1 with the join token after reenroll-node: %v", err)
	}
}
