package cli

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/auth"
	"github.com/carnot-dc/carnot/internal/client"
	"github.com/carnot-dc/carnot/internal/pki"
	"github.com/carnot-dc/carnot/internal/server"
	"github.com/carnot-dc/carnot/internal/store/sqlite"
)

// shortCertServer is a real server whose node certificates last ttl,
// serving the operator API over TLS without keep-alives: every request
// is a new connection, whose handshake checks the node's certificate
// anew (as after any reconnection).
type shortCertServer struct {
	url, caFile string
	srv         *server.Server
	ca          *pki.CA
}

func startShortCertServer(t *testing.T, ttl time.Duration) *shortCertServer {
	t.Helper()
	return startShortCertServerWith(t, ttl, false, nil)
}

// startShortCertServerWith is startShortCertServer with keep-alives on
// or off, its handler wrapped by wrap when not nil.
func startShortCertServerWith(t *testing.T, ttl time.Duration, keepAlives bool, wrap func(http.Handler) http.Handler) *shortCertServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	db, err := sqlite.Open(filepath.Join(dir, "carnot.db"))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(ctx, server.Config{Facility: server.DevFacility("local", "FR"), DynamicNodes: true, Store: db,
		TokenKey: newTokenKey(), CA: ca, NodeCertTTL: ttl, Heartbeat: 100 * time.Millisecond, HeartbeatTimeout: 30 * time.Second,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.IssueServer([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	hs := httptest.NewUnstartedServer(h)
	if hs.TLS, err = pki.ServerConfig(cert, ca.Pool(), pki.VerifyClientCertIfGiven); err != nil {
		t.Fatal(err)
	}
	hs.Config.SetKeepAlivesEnabled(keepAlives)
	hs.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelDebug)
	hs.StartTLS()
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; hs.Close(); db.Close() })
	caFile := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(caFile, ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return &shortCertServer{url: hs.URL, caFile: caFile, srv: s, ca: ca}
}

// A running agent renews its certificate before it expires, with that
// certificate: its heartbeats, each on a new connection, go on past the
// end of the certificate it started with, and its log server presents
// the new certificate to new connections.
func TestRunningAgentRenewsItsCertificate(t *testing.T) {
	const ttl = 4 * time.Second
	s := startShortCertServer(t, ttl)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	join, err := s.srv.MintToken(ctx, api.TokenRequest{Name: "rack", Role: string(auth.Join), Site: "local"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := s.srv.MintToken(ctx, api.TokenRequest{Name: "admin", Role: string(auth.OperatorAdmin)}, "test")
	if err != nil {
		t.Fatal(err)
	}
	o := &agentOpts{name: "n1", dataDir: t.TempDir(), join: join.Secret, ca: s.caFile, listen: "127.0.0.1:0", fakeGPUs: 0, gpuModel: "H100",
		keep: keepOpts{maxTasks: -1, maxAge: -1, diskPercent: -1, interval: time.Hour, logMaxMiB: -1}}
	a, devs, err := o.newAgent(ctx, s.url, slog.New(slog.NewTextHandler(io.Discard, nil)), false)
	if err != nil {
		t.Fatal(err)
	}
	defer devs.Close()
	first, err := pki.LoadNode(o.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()

	cl, err := client.New(s.url, client.WithTLS(pki.ClientConfig(s.ca.Pool(), nil)), client.WithToken(admin.Secret))
	if err != nil {
		t.Fatal(err)
	}
	past := first.Leaf.NotAfter.Add(time.Second)
	deadline := past.Add(3 * ttl)
	for {
		nodes, err := cl.ListNodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var beat time.Time
		for _, n := range nodes.Nodes {
			if n.Name == "n1" {
				beat = n.LastHeartbeat
			}
		}
		if beat.After(past) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node n1's last heartbeat is at %s; its first certificate expired at %s: the agent did not renew it while running",
				beat.Format(time.RFC3339Nano), first.Leaf.NotAfter.Format(time.RFC3339Nano))
		}
		time.Sleep(50 * time.Millisecond)
	}
	saved, err := pki.LoadNode(o.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if !saved.Leaf.NotAfter.After(first.Leaf.NotAfter) {
		t.Errorf("the certificate in the agent's data directory expires at %s, as the first; want a renewed one", saved.Leaf.NotAfter)
	}
	conn, err := tls.Dial("tcp", a.Addr(), pki.NodeServerConfig(s.ca.Pool(), "local", "n1"))
	if err != nil {
		t.Fatalf("the agent's log server after the first certificate expired: %v", err)
	}
	defer conn.Close()
	if got := conn.ConnectionState().PeerCertificates[0]; !got.NotAfter.After(first.Leaf.NotAfter) {
		t.Errorf("the agent's log server presents a certificate expiring at %s, the first one's end", got.NotAfter)
	}
}

// A renewal leaves the node's ca.crt alone when the server's CA is the
// one saved: a crash during a renewal cannot leave it half written (a
// changed CA replaces it whole).
func TestRenewalKeepsTheSavedCA(t *testing.T) {
	cp := startTestServer(t)
	ctx := context.Background()
	join, err := cp.srv.MintToken(ctx, api.TokenRequest{Name: "rack", Role: string(auth.Join), Site: "local"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, roots, _, err := enrollNode(ctx, cp.adminURL, dir, "n1", join.Secret, cp.caFile)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, pki.CACertFile)
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(caFile, old, old); err != nil {
		t.Fatal(err)
	}
	renewed, err := renewNodeCertificate(ctx, cp.adminURL, dir, "n1", "local", roots, cert)
	if err != nil {
		t.Fatal(err)
	}
	if renewed.Leaf.SerialNumber.Cmp(cert.Leaf.SerialNumber) == 0 {
		t.Errorf("the renewal returned the old certificate")
	}
	if fi, err := os.Stat(caFile); err != nil || !fi.ModTime().Equal(old) {
		t.Errorf("ca.crt after a renewal by the same CA: %v, %v; want it left as it was", fi.ModTime(), err)
	}
	if _, err := pki.LoadPool(caFile); err != nil {
		t.Errorf("ca.crt after a renewal: %v", err)
	}
}
