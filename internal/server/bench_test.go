package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/auth"
	"github.com/carnot-dc/carnot/internal/pki"
	"github.com/carnot-dc/carnot/internal/store"
	"github.com/carnot-dc/carnot/internal/store/postgres"
	"github.com/carnot-dc/carnot/internal/store/sqlite"
)

// benchServer is a dev server with its loop running and one registered
// 8-GPU node, on a real SQLite store in a temporary directory.
func benchServer(b *testing.B) (*Server, *httptest.Server) { return benchServerTLS(b, false) }

// benchServerTLS is benchServer, served over TLS 1.3 (the CA's
// certificate, as carnot server does) when withTLS is set.
func benchServerTLS(b *testing.B, withTLS bool) (*Server, *httptest.Server) {
	b.Helper()
	db, err := sqlite.Open(filepath.Join(b.TempDir(), "carnot.db"))
	if err != nil {
		b.Fatal(err)
	}
	return benchServerOn(b, db, withTLS)
}

// benchServerOn is benchServerTLS on the store db.
func benchServerOn(b *testing.B, db store.Store, withTLS bool) (*Server, *httptest.Server) {
	b.Helper()
	s, err := New(context.Background(), Config{Facility: DevFacility("local", "FR"), DynamicNodes: true, Store: db, TokenKey: testTokenKey})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	// Every request carries credentials, checked as in production: the
	// node's verified certificate on its routes, a bearer token elsewhere.
	tok := tokenFor(b, s, "member", "default")
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/agent/") {
			r = asNode(b, r, "local", "n1")
		} else {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		s.Handler().ServeHTTP(w, r)
	}))
	if withTLS {
		cert, err := testCA(b).IssueServer([]string{"127.0.0.1"}, time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		if hs.TLS, err = pki.ServerConfig(cert, testCA(b).Pool(), pki.NoClientCert); err != nil {
			b.Fatal(err)
		}
		hs.StartTLS()
	} else {
		hs.Start()
	}
	b.Cleanup(func() { hs.Close(); cancel(); <-done; db.Close() })
	reg := api.Register{Name: "n1", Site: "local", Address: "http://127.0.0.1:1", CPUs: 64, MemoryGiB: 512}
	for i := range 8 {
		reg.GPUs = append(reg.GPUs, api.GPUInfo{Index: i, Model: "H100"})
	}
	body, _ := json.Marshal(reg)
	resp, err := benchClient(b, hs, 1).Post(hs.URL+"/v1/agent/register", "application/json", bytes.NewReader(body))
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("register: %v %v", err, resp)
	}
	resp.Body.Close()
	return s, hs
}

// benchSpec is a realistic submission: an 8-GPU job with a command,
// environment and limits (all but the first wait: the node has 8 GPUs).
func benchSpec(i int64) []byte {
	return fmt.Appendf(nil, `{"tenant":"default","replicas":1,"gpus":8,"cpus":16,"memory_gib":128,`+
		`"runtime_limit":"4h","checkpoint_grace":"2m","restart":"on-failure","max_retries":2,`+
		`"env":{"RUN":"r%d","LR":"3e-4"},"workdir":"/work/runs","command":["torchrun","--nproc-per-node","8","train.py","--run","%d"]}`, i, i)
}

// BenchmarkSubmit measures durable submissions per second through the
// HTTP API: 128 concurrent clients per core, each POST acknowledged only once its job
// and event are committed to SQLite (group commit), while the scheduler
// loop runs.
func BenchmarkSubmit(b *testing.B) { benchSubmit(b, false) }

// BenchmarkSubmitTLS is BenchmarkSubmit over TLS 1.3, as carnot server
// serves.
func BenchmarkSubmitTLS(b *testing.B) { benchSubmit(b, true) }

// benchClient is an HTTP client of hs keeping up to conns connections.
func benchClient(b *testing.B, hs *httptest.Server, conns int) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: conns}
	if hs.TLS != nil {
		tr.TLSClientConfig = pki.ClientConfig(testCA(b).Pool(), nil)
	}
	return &http.Client{Transport: tr}
}

func benchSubmit(b *testing.B, withTLS bool) {
	s, hs := benchServerTLS(b, withTLS)
	db := s.store.(*sqlite.DB)
	b0, r0 := db.BatchStats()
	submitLoad(b, hs)
	b1, r1 := db.BatchStats()
	b.ReportMetric(float64(r1-r0)/float64(max(1, b1-b0)), "writes/commit")
}

// BenchmarkSubmitPostgres is BenchmarkSubmitTLS on PostgreSQL (a fresh
// schema of $CARNOT_TEST_POSTGRES; skipped without it).
func BenchmarkSubmitPostgres(b *testing.B) {
	db := benchPostgres(b)
	_, hs := benchServerOn(b, db, true)
	b0, r0, _ := db.BatchStats()
	submitLoad(b, hs)
	b1, r1, _ := db.BatchStats()
	b.ReportMetric(float64(r1-r0)/float64(max(1, b1-b0)), "writes/commit")
}

// benchPostgres is a store on a fresh schema of $CARNOT_TEST_POSTGRES,
// dropped at the end; the benchmark is skipped without it.
func benchPostgres(b *testing.B) *postgres.DB {
	b.Helper()
	base := os.Getenv("CARNOT_TEST_POSTGRES")
	if base == "" {
		b.Skip("CARNOT_TEST_POSTGRES is not set")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		b.Fatal(err)
	}
	schema := fmt.Sprintf("bench_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); conn.Close(ctx) })
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := postgres.Open(ctx, u.String())
	if err != nil {
		b.Fatal(err)
	}
	return db
}

// submitLoad posts b.N submissions from 256 concurrent clients.
func submitLoad(b *testing.B, hs *httptest.Server) {
	cl := benchClient(b, hs, 256)
	var n atomic.Int64
	b.SetParallelism(128) // 256 clients on 2 cores
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := cl.Post(hs.URL+"/v1/jobs", "application/json", bytes.NewReader(benchSpec(n.Add(1))))
			if err != nil {
				b.Error(err)
				return
			}
			if resp.StatusCode != http.StatusCreated {
				b.Errorf("status %d", resp.StatusCode)
			}
			io.Copy(io.Discard, resp.Body) // so that the connection is reused
			resp.Body.Close()
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "submissions/s")
}

// BenchmarkPendingMemory submits 100,000 jobs (that cannot start) and
// reports the server's heap once they are all pending and a pass has
// run over them.
func BenchmarkPendingMemory(b *testing.B) {
	const jobs = 100_000
	for range b.N {
		s, hs := benchServer(b)
		tr := &http.Transport{MaxIdleConnsPerHost: 64}
		cl := &http.Client{Transport: tr}
		var next atomic.Int64
		done := make(chan struct{})
		for range 32 {
			go func() {
				defer func() { done <- struct{}{} }()
				for {
					i := next.Add(1)
					if i > jobs {
						return
					}
					resp, err := cl.Post(hs.URL+"/v1/jobs", "application/json", bytes.NewReader(benchSpec(i)))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
		for range 32 {
			<-done
		}
		tr.CloseIdleConnections()
		s.mu.Lock()
		pending := len(s.jobs)
		s.mu.Unlock()
		if pending != jobs {
			b.Fatalf("%d jobs in memory, want %d", pending, jobs)
		}
		t0 := time.Now()
		s.pass(context.Background()) // a quick pass: the first PassDepth jobs
		b.ReportMetric(time.Since(t0).Seconds()*1000, "quick-pass-ms")
		s.mu.Lock()
		s.nextFull = time.Time{}
		s.mu.Unlock()
		t0 = time.Now()
		s.pass(context.Background()) // a full pass over the 100,000
		b.ReportMetric(time.Since(t0).Seconds()*1000, "full-pass-ms")
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
		b.ReportMetric(float64(ms.Sys)/(1<<20), "sys-MiB")
	}
}

// BenchmarkSubmitNoAuth is BenchmarkSubmit with the submission handler
// called without authentication or authorization (the principal a member
// token gives, set directly): the baseline of authentication's cost.
func BenchmarkSubmitNoAuth(b *testing.B) {
	s, _ := benchServerTLS(b, false)
	h := s.handlers("operator")["submitJob"]
	p := auth.Principal{Subject: "token:bench", Role: auth.Member, Tenant: "default"}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	}))
	b.Cleanup(hs.Close)
	submitLoad(b, hs)
}

// BenchmarkAuthenticate is what authentication adds to every request: a
// bearer token looked up in the cache and its HMAC checked (compare with
// BenchmarkSubmit's time per submission).
func BenchmarkAuthenticate(b *testing.B) {
	s, _ := benchServer(b)
	req := httptest.NewRequest("POST", "/v1/jobs", nil)
	req.Header.Set("Authorization", "Bearer "+tokenFor(b, s, "member", "default"))
	b.ReportAllocs()
	for b.Loop() {
		p, err := s.authenticate(req)
		if err != nil || p.Role != "member" {
			b.Fatal(p, err)
		}
	}
}

// BenchmarkAuthenticateNode is what authentication adds to an agent's
// request: its verified certificate's identity, its chain's dates and
// its serial against those its node's enrollment accepts, with 10,000
// nodes enrolled, from every core at once (compare with
// BenchmarkAuthenticate).
func BenchmarkAuthenticateNode(b *testing.B) {
	s, _ := benchServer(b)
	for i := range 10_000 {
		s.certs.set(fmt.Sprintf("n%d", i), enrolledNode{Site: "local", Serials: []string{fmt.Sprintf("%032x", i), fmt.Sprintf("%032x", i+1)}})
	}
	c := nodeCert(b, "local", "n1")
	s.certs.set("n1", enrolledNode{Site: "local", Serials: []string{"1", c.SerialNumber.Text(16)}})
	req := httptest.NewRequest("GET", "/v1/agent/nodes/n1/assignments", nil)
	req.TLS = &tls.ConnectionState{HandshakeComplete: true, PeerCertificates: []*x509.Certificate{c},
		VerifiedChains: [][]*x509.Certificate{{c, testCA(b).Certificate()}}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if p, err := s.authenticate(req); err != nil || p.Node != "n1" {
				b.Fatal(p, err)
			}
		}
	})
}
