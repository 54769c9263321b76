package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/store/sqlite"
)

// clock is a settable clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a server on a real SQLite store, driven by hand: the tests call
// pass themselves instead of running the loop.
type env struct {
	t     *testing.T
	s     *Server
	clock *clock
	dir   string
	h     http.Handler
	sites map[string]string // node → the site it registered in
}

func newEnv(t *testing.T, fac *model.Facility, dynamic bool) *env {
	t.Helper()
	dir := t.TempDir()
	return openEnv(t, dir, fac, dynamic, &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)})
}

// openEnv opens a server on dir's store: a new one, or a restart, after
// which the agents of the nodes it restored beat again (agentsBack).
func openEnv(t *testing.T, dir string, fac *model.Facility, dynamic bool, clk *clock, mods ...func(*Config)) *env {
	t.Helper()
	e := openEnvQuiet(t, dir, fac, dynamic, clk, mods...)
	e.agentsBack()
	return e
}

// openEnvQuiet is openEnv after which no agent beats: a test of agents
// gone across a restart sends the heartbeats of those that are not.
func openEnvQuiet(t *testing.T, dir string, fac *model.Facility, dynamic bool, clk *clock, mods ...func(*Config)) *env {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(dir, "carnot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg := Config{Facility: fac, DynamicNodes: dynamic, Store: db, Now: clk.now,
		Heartbeat: time.Second, HeartbeatTimeout: 10 * time.Second, KillTimeout: 5 * time.Second, TokenKey: testTokenKey}
	for _, mod := range mods {
		mod(&cfg)
	}
	s, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return envOf(t, s, dir, clk)
}

// envOf is an env around s.
func envOf(t *testing.T, s *Server, dir string, clk *clock) *env {
	t.Helper()
	s.ready = true
	e := &env{t: t, s: s, clock: clk, dir: dir, sites: map[string]string{}}
	tokenFor(t, s, "operator-admin", "") // minted first: its event comes before the test's
	// Requests without credentials get those of an operator-admin, or of
	// the node an agent route names.
	e.h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" && r.TLS == nil {
			var b []byte
			if r.Body != nil {
				b, _ = io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(b))
			}
			r = e.credentials(r, b)
		}
		s.Handler().ServeHTTP(w, r)
	})
	return e
}

// agentsBack has the agent of every node the server restored as ready
// (fenced aside: it takes no work either way) beat again, as live agents
// do once a server restarted: until then such a node takes no new work
// (nodeState.heardAtReload). The heartbeat reports no task and no GPU
// sample, and the disk error stored: a task it does not report is left as
// it is, and what the agent runs is the test's to report (a report
// changes what the server counts: a power limit, the energy).
func (e *env) agentsBack() {
	e.t.Helper()
	diskErr := map[string]string{}
	var back []string
	e.s.mu.Lock()
	for _, name := range e.s.nodeNames() {
		if n := e.s.nodes[name]; n.heardAtReload && !n.doc.Fenced {
			back, diskErr[name] = append(back, name), n.doc.DiskError
		}
	}
	e.s.mu.Unlock()
	for _, name := range back {
		if code := e.do("POST", "/v1/agent/nodes/"+name+"/heartbeat", api.Heartbeat{DiskError: diskErr[name]}, nil); code != 200 {
			e.t.Fatalf("heartbeat of %s after the restart: %d", name, code)
		}
	}
}

// do sends a request to the handler and decodes a JSON answer into out
// (when not nil); it returns the status.
func (e *env) do(method, path string, body any, out any) int {
	e.t.Helper()
	var rd io.Reader
	var b []byte
	if body != nil {
		var ok bool
		b, ok = body.([]byte)
		if !ok {
			b, _ = json.Marshal(body)
		}
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	checkDocumented(e.t, e.s.mux, req, w.Code)
	if out != nil {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			e.t.Fatalf("%s %s: %d %s: %v", method, path, w.Code, w.Body.String(), err)
		}
	}
	return w.Code
}

// raw sends a request to the handler and returns its answer, whatever
// its status.
func (e *env) raw(method, path string, body []byte) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, httptest.NewRequest(method, path, rd))
	return w
}

// register registers a node with n fake H100s.
func (e *env) register(name, site string, n int, tasks ...api.TaskStatus) int {
	e.t.Helper()
	reg := api.Register{Name: name, Site: site, Address: "http://127.0.0.1:1", CPUs: 32, MemoryGiB: 256, Tasks: tasks}
	for i := range n {
		reg.GPUs = append(reg.GPUs, api.GPUInfo{Index: i, Model: "H100"})
	}
	return e.do("POST", "/v1/agent/register", reg, nil)
}

// submit submits a job and returns its ID.
func (e *env) submit(spec map[string]any) string {
	e.t.Helper()
	var j api.Job
	if code := e.do("POST", "/v1/jobs", spec, &j); code != http.StatusCreated {
		e.t.Fatalf("submit %v: status %d", spec, code)
	}
	return j.ID
}

func (e *env) job(id string) api.Job {
	e.t.Helper()
	var j api.Job
	if code := e.do("GET", "/v1/jobs/"+id, nil, &j); code != 200 {
		e.t.Fatalf("get %s: %d", id, code)
	}
	return j
}

// report heartbeats task states from a node.
// report sends a heartbeat of node's agent with tasks, built once it
// applied the node's current assignments.
func (e *env) report(node string, tasks ...api.TaskStatus) {
	e.t.Helper()
	v := e.version(node)
	e.reportAt(node, &v, tasks...)
}

// reportAt sends a heartbeat of node's agent with tasks, built when it
// had applied the assignments of version v (nil: an agent older than
// that field).
func (e *env) reportAt(node string, v *int64, tasks ...api.TaskStatus) {
	e.t.Helper()
	if code := e.do("POST", "/v1/agent/nodes/"+node+"/heartbeat", api.Heartbeat{Tasks: tasks, AssignmentsVersion: v}, nil); code != 200 {
		e.t.Fatalf("heartbeat of %s: %d", node, code)
	}
}

func (e *env) pass() { e.s.pass(context.Background()) }

func (e *env) tasks(node string) []api.Task {
	e.t.Helper()
	var a api.Assignments
	if code := e.do("GET", "/v1/agent/nodes/"+node+"/assignments", nil, &a); code != 200 {
		e.t.Fatalf("assignments of %s: %d", node, code)
	}
	return a.Tasks
}

func exited(job string, replica, attempt, code int) api.TaskStatus {
	return api.TaskStatus{Job: job, Replica: replica, Attempt: attempt, State: api.ReplicaExited, ExitCode: &code}
}

func running(job string, replica, attempt int) api.TaskStatus {
	return api.TaskStatus{Job: job, Replica: replica, Attempt: attempt, State: api.ReplicaRunning, PID: 100 + replica}
}

func spec(gpus, replicas int, extra ...any) map[string]any {
	m := map[string]any{"tenant": "default", "gpus": gpus, "replicas": replicas, "command": []string{"train"}}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i].(string)] = extra[i+1]
	}
	return m
}
