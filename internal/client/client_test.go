package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/api"
)

// serve starts a test server with h and a client of it.
func serve(t *testing.T, h http.HandlerFunc, opts ...Option) (*Client, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

// writeJSON answers v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// deadAddr is an address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestParseAddrs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{"", []string{DefaultAddr}, false},
		{"localhost:7460", []string{"https://localhost:7460"}, false},
		{":8080", []string{"https://127.0.0.1:8080"}, false},
		{"https://carnot.example/", []string{"https://carnot.example"}, false},
		{"a:1, http://b:2 ,", []string{"https://a:1", "http://b:2"}, false},
		{"ftp://x", nil, true},
		{",", nil, true},
		{"http://a:1/?x=1", nil, true},
	} {
		got, err := ParseAddrs(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("ParseAddrs(%q): err %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseAddrs(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestSubmitJob(t *testing.T) {
	spec := []byte(`{"tenant":"lab-a","gpus":2,"command":["python","train.py"]}`)
	c, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/jobs" {
			t.Errorf("got %s %s, want POST /v1/jobs", r.Method, r.URL.Path)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		if k := r.Header.Get(api.IdempotencyKeyHeader); k != "key-1" {
			t.Errorf("Idempotency-Key %q, want key-1", k)
		}
		body, _ := io.ReadAll(r.Body)
		if string(body) != string(spec) {
			t.Errorf("body %s, want %s", body, spec)
		}
		writeJSON(w, http.StatusCreated, api.Job{ID: "j1", Tenant: "lab-a", State: api.StatePending, Spec: body})
	})
	j, err := c.SubmitJob(context.Background(), spec, "key-1")
	if err != nil {
		t.Fatal(err)
	}
	if j.ID != "j1" || j.State != api.StatePending || string(j.Spec) != string(spec) {
		t.Errorf("job %+v", j)
	}
}

// TestSubmitRetriesWithSameKey drops the connection twice, then answers
// 503 once, then creates the job: every attempt carries the same key.
func TestSubmitRetriesWithSameKey(t *testing.T) {
	var mu sync.Mutex
	var keys []string
	c, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get(api.IdempotencyKeyHeader))
		n := len(keys)
		mu.Unlock()
		switch n {
		case 1, 2:
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			conn.Close()
		case 3:
			writeJSON(w, http.StatusServiceUnavailable, api.Problem{Title: "Service Unavailable", Status: 503, Detail: "busy"})
		default:
			writeJSON(w, http.StatusCreated, api.Job{ID: "j1"})
		}
	}, WithSubmitRetries(4, time.Millisecond))
	j, err := c.SubmitJob(context.Background(), []byte(`{}`), "")
	if err != nil {
		t.Fatal(err)
	}
	if j.ID != "j1" {
		t.Errorf("job %q", j.ID)
	}
	if len(keys) != 4 || keys[0] == "" {
		t.Fatalf("keys %q: want 4 attempts with a generated key", keys)
	}
	for _, k := range keys {
		if k != keys[0] {
			t.Errorf("keys %q: want the same key on every attempt", keys)
		}
	}
}

func TestSubmitDoesNotRetryProblems(t *testing.T) {
	n := 0
	c, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		n++
		writeJSON(w, http.StatusUnprocessableEntity, api.Problem{Status: 422, Title: "Invalid job", Detail: "the job is invalid"})
	}, WithSubmitRetries(4, time.Millisecond))
	_, err := c.SubmitJob(context.Background(), []byte(`{}`), "k")
	if StatusOf(err) != 422 || n != 1 {
		t.Errorf("err %v after %d requests; want a 422 after 1", err, n)
	}
}

func TestListJobsQueryAndPages(t *testing.T) {
	var queries []string
	c, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		switch r.URL.Query().Get("after") {
		case "":
			writeJSON(w, 200, api.JobList{Jobs: []api.Job{{ID: "a"}, {ID: "b"}}, Next: "b"})
		case "b":
			writeJSON(w, 200, api.JobList{Jobs: []api.Job{{ID: "c"}}})
		}
	})
	jobs, err := c.AllJobs(context.Background(), ListOptions{Tenant: "lab a", States: []string{"pending", "running"},
		PriorityClass: "high", Kind: "job", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, ids); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
	want := []string{
		"kind=job&limit=2&priority_class=high&state=pending%2Crunning&tenant=lab+a",
		"after=b&kind=job&limit=2&priority_class=high&state=pending%2Crunning&tenant=lab+a",
	}
	if diff := cmp.Diff(want, queries); diff != "" {
		t.Errorf("queries (-want +got):\n%s", diff)
	}
}

func TestProblemDecoding(t *testing.T) {
	c, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/jobs/nope":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(404)
			_, _ = io.WriteString(w, `{"type":"urn:carnot:problem:not-found","title":"Not Found","status":404,"detail":"no job \"nope\""}`)
		case "/v1/jobs":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(422)
			_, _ = io.WriteString(w, `{"title":"Invalid job","status":422,"detail":"the job is invalid","errors":[{"field":"gpus","message":"must be ≥ 0"}]}`)
		default:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			_, _ = io.WriteString(w, "<html>bad gateway</html>\n<p>more</p>")
		}
	}, WithSubmitRetries(0, 0))
	ctx := context.Background()
	_, err := c.GetJob(ctx, "nope")
	var p *api.Problem
	if !errors.As(err, &p) || p.Status != 404 || !IsNotFound(err) || err.Error() != `no job "nope"` {
		t.Errorf("GetJob: %v (%#v)", err, p)
	}
	_, err = c.SubmitJob(ctx, []byte(`{"gpus":-1}`), "k")
	if err == nil || err.Error() != "the job is invalid\n  gpus: must be ≥ 0" {
		t.Errorf("SubmitJob: %q", err)
	}
	_, err = c.ListNodes(ctx)
	if StatusOf(err) != 502 || !strings.Contains(err.Error(), "answered 502 Bad Gateway: <html>bad gateway</html>") {
		t.Errorf("ListNodes: %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	addr := deadAddr(t)
	c, err := New(addr)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListJobs(context.Background(), ListOptions{})
	want := "cannot reach the Carnot server at " + addr + `: connection refused (start one with "carnot dev", or point --server / CARNOT_ADDR at one)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("%v does not wrap ECONNREFUSED", err)
	}
	// agents and operators' commands read their address elsewhere
	c, err = New(addr, WithAddrEnv("CARNOT_ADMIN_ADDR"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListNodes(context.Background())
	if err == nil || !strings.HasSuffix(err.Error(), `point --server / CARNOT_ADMIN_ADDR at one)`) {
		t.Errorf("with WithAddrEnv: %v", err)
	}
}

func TestFailover(t *testing.T) {
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		writeJSON(w, 200, api.NodeList{Nodes: []api.Node{{Name: "n1"}}})
	}))
	defer srv.Close()
	dead := deadAddr(t)
	c, err := New(dead + "," + srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		l, err := c.ListNodes(context.Background())
		if err != nil || len(l.Nodes) != 1 {
			t.Fatalf("ListNodes: %v, %v", l, err)
		}
	}
	if c.next != 1 || n != 2 {
		t.Errorf("next address %d, %d requests served; want 1 and 2", c.next, n)
	}
	c2, _ := New(dead + "," + deadAddr(t))
	_, err = c2.ListNodes(context.Background())
	if err == nil || !strings.HasPrefix(err.Error(), "cannot reach any Carnot server ("+dead+": connection refused; ") {
		t.Errorf("both dead: %v", err)
	}
}

func TestLogs(t *testing.T) {
	c, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/jobs/j%201/logs" && r.URL.EscapedPath() != "/v1/jobs/j%201/logs" {
			t.Errorf("path %q", r.URL.EscapedPath())
		}
		if got := r.URL.RawQuery; got != "attempt=2&follow=true&replica=3&stream=stderr" {
			t.Errorf("query %q", got)
		}
		w.Header().Set(api.LogDroppedHeader, "42")
		_, _ = io.WriteString(w, "line 1\nline 2\n")
	})
	rc, err := c.Logs(context.Background(), "j 1", LogOptions{Replica: 3, Stream: "stderr", Follow: true, Attempt: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	if string(b) != "line 1\nline 2\n" || rc.Dropped != 42 {
		t.Errorf("logs %q, dropped %d; want 42 dropped", b, rc.Dropped)
	}
}

func TestAgentCalls(t *testing.T) {
	c, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.Method + " " + r.URL.Path {
		case "POST /v1/agent/register":
			var reg api.Register
			_ = json.NewDecoder(r.Body).Decode(&reg)
			writeJSON(w, 200, api.Registered{Node: reg.Name, HeartbeatSeconds: 5})
		case "POST /v1/agent/nodes/n1/heartbeat":
			writeJSON(w, 200, api.HeartbeatReply{Version: 7})
		case "GET /v1/agent/nodes/n1/assignments":
			if q := r.URL.RawQuery; q != "after=6&wait=30s" {
				t.Errorf("assignments query %q", q)
			}
			writeJSON(w, 200, api.Assignments{Version: 7, Tasks: []api.Task{{Job: "j1"}}})
		default:
			http.NotFound(w, r)
		}
	}, WithTimeout(time.Second))
	ctx := context.Background()
	reg, err := c.Register(ctx, api.Register{Name: "n1"})
	if err != nil || reg.Node != "n1" || reg.HeartbeatSeconds != 5 {
		t.Errorf("Register: %+v, %v", reg, err)
	}
	hb, err := c.Heartbeat(ctx, "n1", api.Heartbeat{})
	if err != nil || hb.Version != 7 {
		t.Errorf("Heartbeat: %+v, %v", hb, err)
	}
	as, err := c.Assignments(ctx, "n1", 6, 30*time.Second)
	if err != nil || as.Version != 7 || len(as.Tasks) != 1 {
		t.Errorf("Assignments: %+v, %v", as, err)
	}
}

func TestWatch(t *testing.T) {
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	c, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "text/event-stream" {
			t.Errorf("Accept %q", r.Header.Get("Accept"))
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, ": keep-alive\n\n"+
			"id: 1\nevent: job\ndata: {\"seq\":1,\"time\":\"2026-01-05T09:00:00Z\",\"job\":\"a\",\"type\":\"submitted\",\"message\":\"m\"}\n\n"+
			"data: ping\n\n"+
			"id: 2\r\ndata: {\"seq\":2,\"time\":\"2026-01-05T09:00:00Z\",\r\ndata:\"type\":\"node\",\"node\":\"n1\",\"message\":\"x\"}\r\n\r\n"+
			"data: {\"seq\":3,\"type\":\"cut short\"")
	})
	s, err := c.Watch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got []api.Event
	for {
		ev, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev)
	}
	want := []api.Event{
		{Seq: 1, Time: t0, Job: "a", Type: "submitted", Message: "m"},
		{Seq: 2, Time: t0, Node: "n1", Type: "node", Message: "x"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if s.LastID != "2" {
		t.Errorf("LastID %q", s.LastID)
	}
}

func TestOtherRoutes(t *testing.T) {
	seen := map[string]bool{}
	c, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		seen[r.Method+" "+r.URL.EscapedPath()] = true
		switch r.URL.Path {
		case "/v1/audit/consistency":
			if q := r.URL.RawQuery; q != "new=9&old=3" {
				t.Errorf("GET /v1/audit/consistency?%s, want old=3 and new=9", q)
			}
			writeJSON(w, 200, map[string]any{})
		case "/metrics":
			_, _ = io.WriteString(w, "carnot_up 1\n")
		case "/v1/nodes/n1/drain":
			w.WriteHeader(http.StatusNoContent)
		default:
			writeJSON(w, 200, map[string]any{})
		}
	})
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Error(err)
		}
	}
	_, err := c.GetJob(ctx, "a")
	must(err)
	_, err = c.SubmitJob(ctx, []byte(`{}`), "k")
	must(err)
	_, err = c.ListJobs(ctx, ListOptions{})
	must(err)
	rc, err := c.Logs(ctx, "a", LogOptions{})
	must(err)
	if rc != nil {
		rc.Close()
	}
	_, err = c.ListNodes(ctx)
	must(err)
	_, err = c.CancelJob(ctx, "a")
	must(err)
	_, err = c.Events(ctx, "a", 5)
	must(err)
	_, err = c.AllEvents(ctx, 0)
	must(err)
	_, err = c.Why(ctx, "a")
	must(err)
	_, _, err = c.Checkpoint(ctx, "a", api.CheckpointAck{})
	must(err)
	_, err = c.SubmitDeployment(ctx, []byte(`{}`), "k")
	must(err)
	_, err = c.ListDeployments(ctx, ListOptions{})
	must(err)
	_, err = c.GetDeployment(ctx, "d")
	must(err)
	_, err = c.GetNode(ctx, "n1")
	must(err)
	n, err := c.Drain(ctx, "n1")
	must(err)
	if n == nil || n.Name != "n1" {
		t.Errorf("Drain with no body: %+v", n)
	}
	_, err = c.Undrain(ctx, "n1")
	must(err)
	_, err = c.Fence(ctx, "n1", false)
	must(err)
	_, err = c.Unfence(ctx, "n1")
	must(err)
	_, err = c.Sites(ctx)
	must(err)
	_, err = c.Tenants(ctx)
	must(err)
	_, err = c.Usage(ctx)
	must(err)
	_, err = c.Plan(ctx)
	must(err)
	must(c.Health(ctx))
	must(c.Ready(ctx))
	m, err := c.Metrics(ctx)
	must(err)
	if string(m) != "carnot_up 1\n" {
		t.Errorf("metrics %q", m)
	}
	_, err = c.OpenAPI(ctx)
	must(err)
	_, err = c.AuditCheckpoint(ctx)
	must(err)
	_, err = c.AuditExport(ctx)
	must(err)
	_, err = c.AuditEntries(ctx, "t", "", 0)
	must(err)
	_, err = c.AuditConsistency(ctx, 3, 9)
	must(err)
	_, err = c.WhoAmI(ctx)
	must(err)
	_, err = c.CreateToken(ctx, api.TokenRequest{Name: "x", Role: "member", Tenant: "t"})
	must(err)
	_, err = c.ListTokens(ctx)
	must(err)
	_, err = c.RevokeToken(ctx, "a")
	must(err)
	_, err = c.ListSecrets(ctx, "t")
	must(err)
	_, err = c.PutSecret(ctx, "n1", api.SecretValue{Value: "v"})
	must(err)
	must(c.DeleteSecret(ctx, "t", "n1"))
	must(c.ForgetNode(ctx, "n1"))
	_, err = c.ReenrollNode(ctx, "n1", 0, false)
	must(err)
	must(c.RevokeNode(ctx, "n1"))
	// Every route of the table but the watch (TestWatch) and the
	// agent's (TestAgentCalls) was called.
	for _, r := range api.Routes {
		p := strings.NewReplacer("{id}", "a", "{name}", "n1").Replace(r.Path)
		if r.Path == "/v1/deployments/{id}" {
			p = "/v1/deployments/d"
		}
		if strings.HasPrefix(p, "/v1/agent/") || p == "/v1/watch" {
			continue
		}
		if !seen[r.Method+" "+p] {
			t.Errorf("route %s %s not called", r.Method, r.Path)
		}
	}
}

// agentServer is the node agent's Server interface (internal/agent),
// restated so that the client's tests do not depend on the agent.
type agentServer interface {
	Register(ctx context.Context, r api.Register) (api.Registered, error)
	Heartbeat(ctx context.Context, node string, hb api.Heartbeat) (api.HeartbeatReply, error)
	Assignments(ctx context.Context, node string, after int64, wait time.Duration) (api.Assignments, error)
}

var _ agentServer = (*Client)(nil)

// An ID or name that is not one path segment ("", ".", "..") is refused
// before anything is sent: the server's router would clean the path and
// redirect, and GetJob(".") answered the job list, decoded as an empty
// job, with no error.
func TestDotSegmentIDsRefused(t *testing.T) {
	// The server's routes, on a ServeMux as the server's are.
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, api.Job{ID: r.PathValue("id"), State: "running"})
	})
	mux.HandleFunc("GET /v1/jobs", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, api.JobList{}) })
	mux.HandleFunc("GET /v1/nodes", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, api.NodeList{}) })
	sent := 0
	c, _ := serve(t, func(w http.ResponseWriter, r *http.Request) { sent++; mux.ServeHTTP(w, r) })
	ctx := context.Background()
	for _, id := range []string{"", ".", ".."} {
		if j, err := c.GetJob(ctx, id); err == nil {
			t.Errorf("GetJob(%q) = %+v, nil; want an error", id, j)
		}
		if n, err := c.GetNode(ctx, id); err == nil {
			t.Errorf("GetNode(%q) = %+v, nil; want an error", id, n)
		}
	}
	if sent > 0 {
		t.Errorf("%d requests reached the server", sent)
	}
}

// A server whose certificate the client does not trust is a mistake of
// the client's configuration: the error says so and what to pass, not
// the request URL and the x509 error alone.
func TestUntrustedCertificate(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, api.JobList{})
	}))
	t.Cleanup(srv.Close)
	c, err := New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListJobs(context.Background(), ListOptions{})
	if err == nil {
		t.Fatal("no error from a server with an untrusted certificate")
	}
	want := "the Carnot server at " + srv.URL + ": its TLS certificate is not signed by a CA this client trusts; " +
		"give the server's CA certificate with --ca or CARNOT_CA (carnot dev's is DATA-DIR/tls/ca.crt)"
	if got := err.Error(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	var te *TransportError
	if !errors.As(err, &te) {
		t.Errorf("%v is not a *TransportError", err)
	}
}
