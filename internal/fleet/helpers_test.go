package fleet

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/client"
	"github.com/carnot-dc/carnot/internal/pki"
	"github.com/carnot-dc/carnot/internal/server"
	"github.com/carnot-dc/carnot/internal/store/sqlite"
)

// testServer is a real server on a SQLite store, serving the operator API
// over TLS (client certificates verified when given), its loop running.
type testServer struct {
	t     *testing.T
	URL   string
	Roots *x509.CertPool
	Join  string         // a join token of site "local"
	admin *client.Client // an operator-admin
	ca    *pki.CA        // the server's
}

func startServer(t *testing.T) *testServer {
	t.Helper()
	return startServerBeating(t, 100*time.Millisecond)
}

// startServerBeating starts a server whose agents heartbeat every hb.
func startServerBeating(t *testing.T, hb time.Duration) *testServer {
	t.Helper()
	return startServerWith(t, hb, 0)
}

// startServerWith starts a server whose agents heartbeat every hb and
// whose node certificates last certTTL (0: the default). With a
// certTTL, it keeps no connection alive: every request is a new
// connection, whose handshake checks the node's certificate anew.
func startServerWith(t *testing.T, hb, certTTL time.Duration) *testServer {
	t.Helper()
	return startServerWrapped(t, hb, certTTL, nil)
}

// startServerWrapped is startServerWith, its handler wrapped by wrap
// when not nil.
func startServerWrapped(t *testing.T, hb, certTTL time.Duration, wrap func(http.Handler) http.Handler) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "carnot.db"))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(ctx, server.Config{Facility: server.DevFacility("local", "FR"), DynamicNodes: true, Store: db,
		TokenKey: []byte(strings.Repeat("k", 32)), CA: ca, Heartbeat: hb, HeartbeatTimeout: max(5*time.Second, 10*hb),
		KillTimeout: time.Second, Logger: testLogger(t), NodeCertTTL: certTTL})
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
	if certTTL > 0 {
		hs.Config.SetKeepAlivesEnabled(false)
		hs.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelDebug)
	}
	hs.StartTLS()
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		hs.Close()
		db.Close()
	})
	ts := &testServer{t: t, URL: hs.URL, Roots: ca.Pool(), ca: ca}
	join, err := s.MintToken(ctx, api.TokenRequest{Name: "j", Role: "join", Site: "local", TTLSeconds: 600}, "test")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := s.MintToken(ctx, api.TokenRequest{Name: "admin", Role: "operator-admin"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	ts.Join = join.Secret
	if ts.admin, err = client.New(hs.URL, client.WithTLS(pki.ClientConfig(ca.Pool(), nil)), client.WithToken(admin.Secret)); err != nil {
		t.Fatal(err)
	}
	return ts
}

// testLogger logs to the test's log with -v and CARNOT_TEST_LOG set.
func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("CARNOT_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// config is a fleet of n nodes with 2 GPUs each for s.
func (s *testServer) config(n int, dir string) Config {
	return Config{Server: s.URL, Nodes: n, Prefix: "vn", DataDir: dir, JoinToken: s.Join, Roots: s.Roots,
		GPUs: 2, ReportEvery: -1, Logger: testLogger(s.t)}
}

// start makes a fleet of cfg and runs it until the test ends; it waits
// until every node registered.
func (s *testServer) start(cfg Config) *Fleet {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f, err := New(ctx, cfg)
	if err != nil {
		cancel()
		s.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	s.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			s.t.Errorf("fleet: %v", err)
		}
	})
	limit := 15*time.Second + time.Duration(cfg.Nodes)*50*time.Millisecond // the server registers one node at a time
	select {
	case <-f.Ready():
	case <-time.After(limit):
		s.t.Fatalf("the fleet's nodes did not all register within %s: %+v", limit, f.Stats())
	}
	return f
}

// submit submits a job spec and returns its ID.
func (s *testServer) submit(spec map[string]any) string {
	s.t.Helper()
	if _, ok := spec["tenant"]; !ok {
		spec["tenant"] = "default"
	}
	b, _ := json.Marshal(spec)
	j, err := s.admin.SubmitJob(context.Background(), b, "")
	if err != nil {
		s.t.Fatalf("submit %s: %v", b, err)
	}
	return j.ID
}

// waitFor polls cond every 20 ms until it holds or timeout passes.
func (s *testServer) waitFor(what string, timeout time.Duration, cond func() bool) {
	s.t.Helper()
	end := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(end) {
			s.t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// jobs returns every job by ID.
func (s *testServer) jobs() map[string]api.Job {
	s.t.Helper()
	all, err := s.admin.AllJobs(context.Background(), client.ListOptions{})
	if err != nil {
		s.t.Fatal(err)
	}
	m := make(map[string]api.Job, len(all))
	for _, j := range all {
		m[j.ID] = j
	}
	return m
}

func (s *testServer) job(id string) *api.Job {
	s.t.Helper()
	j, err := s.admin.GetJob(context.Background(), id)
	if err != nil {
		s.t.Fatal(err)
	}
	return j
}
