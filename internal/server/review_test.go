package server

// The TestRegression tests reproduce bugs a review found in the live
// control plane; each comment says what went wrong before the fix.

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/jobspec"
	"github.com/carnot-dc/carnot/internal/store/sqlite"
)

// restart closes e's store and opens a new server on the same directory
// and clock, as a server restart does; the agents of the nodes it
// restores beat again (agentsBack).
func (e *env) restart(dynamic bool) *env {
	e.t.Helper()
	e.s.store.Close()
	return openEnv(e.t, e.dir, e.s.cfg.Facility, dynamic, e.clock)
}

// restartQuiet is restart after which no agent beats: a test of agents
// gone across a restart sends the heartbeats of those that are not.
func (e *env) restartQuiet(dynamic bool) *env {
	e.t.Helper()
	e.s.store.Close()
	return openEnvQuiet(e.t, e.dir, e.s.cfg.Facility, dynamic, e.clock)
}

// assignments fetches a node's assignments with their version.
func (e *env) assignments(node string) api.Assignments {
	e.t.Helper()
	var a api.Assignments
	if code := e.do("GET", "/v1/agent/nodes/"+node+"/assignments", nil, &a); code != 200 {
		e.t.Fatalf("assignments of %s: %d", node, code)
	}
	return a
}

func exitedSig(job string, replica, attempt, code int, sig string) api.TaskStatus {
	st := exited(job, replica, attempt, code)
	st.Signal = sig
	return st
}

// Cancelling a gang that is already being stopped because a replica
// failed must end it cancelled, not restart it under its restart policy.
func TestRegressionCancelDuringFailureStopIsIgnored(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(1, 2, "restart", "on-failure", "max_retries", 3))
	e.pass()
	e.report("n1", running(id, 0, 1), running(id, 1, 1))
	e.report("n1", exited(id, 0, 1, 3), running(id, 1, 1)) // failure: the gang is being stopped
	var j api.Job
	if code := e.do("POST", "/v1/jobs/"+id+"/cancel", nil, &j); code != http.StatusAccepted || j.State != api.StateCancelling {
		t.Fatalf("cancel: %d %s, want 202 cancelling", code, j.State)
	}
	e.report("n1", exitedSig(id, 1, 1, 143, "terminated"))
	if j := e.job(id); j.State != api.StateCancelled {
		t.Fatalf("a job cancelled while its failed gang was stopping: state %q (restarts %d, %q), want %q",
			j.State, j.Restarts, j.Message, api.StateCancelled)
	}
}

// Cancelling a job that is being preempted must end it cancelled, not put
// it back in the queue.
func TestRegressionCancelDuringPreemptionRequeues(t *testing.T) {
	e := devEnv(t)
	victim := e.submit(spec(8, 1, "priority_class", "low", "checkpoint_grace", "60s"))
	e.pass()
	e.report("n1", running(victim, 0, 1))
	e.submit(spec(8, 1, "priority_class", "high"))
	e.pass()
	if v := e.job(victim); v.State != api.StatePreempting {
		t.Fatalf("victim %s, want preempting", v.State)
	}
	var j api.Job
	if code := e.do("POST", "/v1/jobs/"+victim+"/cancel", nil, &j); code != http.StatusAccepted || j.State != api.StateCancelling {
		t.Fatalf("cancel: %d %s, want 202 cancelling", code, j.State)
	}
	e.report("n1", exitedSig(victim, 0, 1, 143, "terminated"))
	if v := e.job(victim); v.State != api.StateCancelled {
		t.Fatalf("a job cancelled while being preempted: state %q (%q), want %q", v.State, v.Message, api.StateCancelled)
	}
}

// A gang whose replica failed is being stopped; a server restart must
// keep stopping it and must not forget the failure.
func TestRegressionRestartForgetsFailureStop(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(1, 2))
	e.pass()
	e.report("n1", running(id, 0, 1), running(id, 1, 1))
	e.report("n1", exited(id, 0, 1, 3), running(id, 1, 1))
	if tk := e.tasks("n1"); len(tk) != 1 || !tk[0].Stop {
		t.Fatalf("before the restart: tasks %+v, want replica 1 stopping", tk)
	}
	e2 := e.restart(true)
	tk := e2.tasks("n1")
	if len(tk) != 1 || !tk[0].Stop {
		t.Errorf("after a restart, the failed gang's last replica is no longer stopped: tasks %+v, want one with stop=true", tk)
	}
	e2.report("n1", exited(id, 1, 1, 0))
	j := e2.job(id)
	if j.State != api.StateFailed {
		t.Errorf("gang whose replica 0 exited with code 3: state %q (exit code %v, %q) after a restart, want %q",
			j.State, derefInt(j.ExitCode), j.Message, api.StateFailed)
	}
}

func derefInt(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

// The assignments version of a node the facility lists starts at 0 in
// every server process: after a restart it repeats a version the agent
// already saw for other tasks, and the agent's long poll (?after=V)
// sleeps through its new work.
func TestRegressionAssignmentVersionReusedAfterRestart(t *testing.T) {
	e := newEnv(t, listedFacility(), false)
	if code := e.register("a1", "a", 8); code != 200 {
		t.Fatalf("register: %d", code)
	}
	before := e.assignments("a1")
	e2 := e.restart(false)
	id := e2.submit(spec(8, 1))
	e2.pass()
	after := e2.assignments("a1")
	if len(after.Tasks) != 1 || after.Tasks[0].Job != id {
		t.Fatalf("after the restart: tasks %+v, want job %s", after.Tasks, id)
	}
	if after.Version == before.Version {
		t.Errorf("assignments version %d names %d tasks before the restart and %d after: an agent polling with after=%d never sees the new task",
			after.Version, len(before.Tasks), len(after.Tasks), before.Version)
	}
}

// A deployment that scaled up charges each replica from when it started,
// not every replica from the deployment's first start.
func TestRegressionDeploymentScaleUpOvercountsGPUSeconds(t *testing.T) {
	e := devEnv(t)
	var d api.Job
	if code := e.do("POST", "/v1/deployments", spec(8, 2, "min_replicas", 1), &d); code != http.StatusCreated {
		t.Fatalf("submit deployment: %d", code)
	}
	e.pass()
	if j := e.job(d.ID); j.State != api.StateRunning || len(j.Replicas) != 1 {
		t.Fatalf("deployment %s with %d replicas, want running with 1", j.State, len(j.Replicas))
	}
	e.report("n1", running(d.ID, 0, 1))
	e.clock.add(time.Hour)
	if code := e.register("n2", "local", 8); code != 200 {
		t.Fatal(code)
	}
	e.report("n1", running(d.ID, 0, 1))
	e.pass()
	if j := e.job(d.ID); len(j.Replicas) != 2 {
		t.Fatalf("deployment not scaled up: %d replicas (%s)", len(j.Replicas), j.Message)
	}
	e.report("n2", running(d.ID, 1, 1))
	e.clock.add(time.Hour)
	e.report("n1", exited(d.ID, 0, 1, 0))
	e.report("n2", exited(d.ID, 1, 1, 0))
	j := e.job(d.ID)
	if !api.Final(j.State) {
		t.Fatalf("deployment %s after both replicas exited", j.State)
	}
	want := 8*2*3600.0 + 8*1*3600.0 // replica 0 ran 2 h, replica 1 ran 1 h
	if j.Usage.GPUSeconds != want {
		t.Errorf("GPU-seconds %v, want %v (replica 1 started an hour after replica 0)", j.Usage.GPUSeconds, want)
	}
}

// A deployment replica that ended keeps holding its GPUs while the rest
// of the deployment runs on: nothing runs on them, nothing else may use
// them, and the deployment does not replace the replica.
func TestRegressionDeploymentEndedReplicaHoldsGPUs(t *testing.T) {
	e := devEnv(t)
	var d api.Job
	if code := e.do("POST", "/v1/deployments", spec(4, 2), &d); code != http.StatusCreated {
		t.Fatalf("submit deployment: %d", code)
	}
	e.pass()
	e.report("n1", running(d.ID, 0, 1), running(d.ID, 1, 1))
	e.report("n1", exited(d.ID, 0, 1, 0), running(d.ID, 1, 1))
	e.pass()
	var n api.Node
	e.do("GET", "/v1/nodes/n1", nil, &n)
	live := 0
	for _, tk := range e.tasks("n1") {
		if !tk.Stop {
			live++
		}
	}
	if n.GPUsUsed > 4*live {
		j := e.job(d.ID)
		t.Errorf("deployment %s: %d live replica(s) (4 GPUs each) but node n1 has %d GPUs used: the ended replica's GPUs are never released",
			j.State, live, n.GPUsUsed)
	}
}

// A negative power sample in a heartbeat panics the handler (a Prometheus
// counter cannot decrease) instead of being refused.
func TestRegressionNegativePowerSamplePanics(t *testing.T) {
	e := devEnv(t)
	body := []byte(`{"tasks":[],"gpus":[{"index":0,"power_w":100}]}`)
	neg := []byte(`{"tasks":[],"gpus":[{"index":0,"power_w":-100}]}`)
	serve := func(b []byte) (code int, panicked any) {
		defer func() { panicked = recover() }()
		req := httptest.NewRequest("POST", "/v1/agent/nodes/n1/heartbeat", strings.NewReader(string(b)))
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, req)
		return w.Code, nil
	}
	serve(body)
	e.clock.add(time.Second)
	code, p := serve(neg)
	if p != nil {
		t.Fatalf("heartbeat with power_w -100 panicked: %v; want a 400 problem", p)
	}
	if code != http.StatusBadRequest {
		t.Errorf("heartbeat with power_w -100: %d, want 400", code)
	}
}

// A late (out-of-order) telemetry sample moves the GPU's last-sample time
// backwards, so the next sample integrates the same interval again.
func TestRegressionOutOfOrderSampleOvercountsEnergy(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(1, 1))
	e.pass()
	e.report("n1", running(id, 0, 1))
	g := e.job(id).Replicas[0].GPUs[0]
	beat := func(at time.Time) {
		hb := api.Heartbeat{Tasks: []api.TaskStatus{running(id, 0, 1)}, GPUs: []api.GPUSample{{Index: g, Time: at, PowerW: 1000}}}
		if code := e.do("POST", "/v1/agent/nodes/n1/heartbeat", hb, nil); code != 200 {
			t.Fatalf("heartbeat: %d", code)
		}
	}
	t0 := e.clock.now()
	beat(t0)
	e.clock.add(time.Second)
	beat(t0.Add(time.Second))      // 1 s at 1000 W
	beat(t0.Add(-2 * time.Second)) // a late, older sample: nothing to add
	e.clock.add(time.Second)
	beat(t0.Add(2 * time.Second)) // 1 s at 1000 W
	got := e.job(id).Usage.ITKWh
	want := 2 * 1000.0 / 3600 / 1000 // 2 s at 1 kW
	if got > want+1e-12 {
		t.Errorf("IT energy %v kWh (%.0f s at 1 kW) for 2 s at 1 kW, want %v: after the late sample, the next one counted 3 s instead of 1",
			got, got*3600, want)
	}
}

// Telemetry samples for GPU indices the node does not have are kept
// forever: an agent (or anyone, the routes have no auth) grows the
// server's memory without bound.
func TestRegressionTelemetryIndicesUnbounded(t *testing.T) {
	e := devEnv(t)
	for k := range 20 {
		var samples []api.GPUSample
		for i := range 100 {
			samples = append(samples, api.GPUSample{Index: 1000 + k*100 + i, PowerW: 1})
		}
		e.do("POST", "/v1/agent/nodes/n1/heartbeat", api.Heartbeat{GPUs: samples}, nil)
	}
	if n := len(e.s.nodes["n1"].lastSample); n > 8 {
		t.Errorf("node n1 has 8 GPUs but the server keeps last-sample times for %d indices", n)
	}
}

// fuzzServer is a server on a fresh SQLite store for a fuzz target (one
// per fuzz process: its iterations share it).
func fuzzServer(tb testing.TB) *Server {
	tb.Helper()
	db, err := sqlite.Open(filepath.Join(tb.TempDir(), "carnot.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	s, err := New(context.Background(), Config{Facility: DevFacility("local", "FR"), DynamicNodes: true, Store: db, Now: clk.now, TokenKey: testTokenKey})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// FuzzSubmit checks that any body submitted to /v1/jobs or
// /v1/deployments is answered (no panic) with a documented status, a
// problem document on error, and, when accepted, a job whose stored spec
// reloads (as a restarted server reloads it) into the same job, of the
// kind the route promises.
func FuzzSubmit(f *testing.F) {
	for _, s := range []string{
		`{"tenant":"default","gpus":1,"command":["train"]}`,
		`{"tenant":"default","gpus":2,"replicas":3,"min_replicas":1,"command":["serve"]}`,
		`{"id":"mine","tenant":"default","gpus":1,"command":["x"],"env":{"A":"1"},"restart":"on-failure","max_retries":2}`,
		`{"tenant":"default","gpus":0,"cpus":2,"memory_gib":4,"command":["x"],"runtime_limit":"1h","deadline":"2020-01-01T00:00:00Z"}`,
		`{"tenant":"default","gpus":1,"command":["x"],"checkpoint_grace":"30s","priority_class":"low","preemptible":true}`,
		`{"tenant":"default","gpus":1,"command":["x"],"topology":{"level":"node","required":true},"earliest_start":"2026-03-02T11:00:00Z"}`,
		`{"kind":"deployment","tenant":"default","gpus":1,"command":["x"]}`,
		`{"kind" : "deployment" ,"tenant":"default","gpus":1,"command":["x"]}`,
		`{"kind":"job","tenant":"default","gpus":1,"command":["x"]}`,
		`{"\u0069d":"esc","tenant":"default","gpus":1,"command":["x"]}`,
		`{"tenant":"default","tenant":"other","gpus":1,"command":["x"]}`,
		`{"submit_time":1,"tenant":"default","gpus":1,"command":["x"]}`,
		`{}`, `null`, `[]`, `"x"`, `{"id":null}`, ` {"gpus":1} `, `{"gpus":1}{}`, "{\"id\":\"\xff\"}",
		`{"tenant":"default","gpus":1e400,"command":["x"]}`,
		`{"tenant":"default","gpus":-1,"replicas":-5,"command":[]}`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	s := fuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte, deployment bool) {
		path := "/v1/jobs"
		if deployment {
			path = "/v1/deployments"
		}
		req := asAdmin(t, s, httptest.NewRequest("POST", path, bytes.NewReader(body)))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		checkDocumented(t, s.mux, req, w.Code)
		if w.Code != http.StatusCreated {
			if w.Code >= 400 && w.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%s %q: %d with Content-Type %q, want a problem document", path, body, w.Code, w.Header().Get("Content-Type"))
			}
			return
		}
		var doc api.Job
		if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
			t.Fatalf("%s %q: 201 with %v", path, body, err)
		}
		if deployment && doc.Kind != "deployment" {
			t.Fatalf("%s %q: created a %q", path, body, doc.Kind)
		}
		js, err := jobFromDoc(&doc)
		if err != nil {
			t.Fatalf("%s %q: accepted, but its stored spec %s does not reload: %v", path, body, doc.Spec, err)
		}
		reloaded := *js.job
		reloaded.SubmitTime = 0 // the store keeps it beside the spec
		again, err := jobspec.Marshal(&reloaded)
		if err != nil || !sameJSON(again, doc.Spec) {
			t.Fatalf("%s %q: spec %s reloads as %s (%v)", path, body, doc.Spec, again, err)
		}
		s.mu.Lock()
		mem := s.jobs[doc.ID]
		s.mu.Unlock()
		if mem == nil || mem.job.ID != doc.ID || js.job.ID != doc.ID {
			t.Fatalf("%s %q: job %s not in memory under its ID", path, body, doc.ID)
		}
	})
}

// sameJSON reports whether a and b are the same JSON value (the API's
// encoder escapes what jobspec.Marshal leaves, e.g. "&").
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}

// A server restarted with a facility that no longer admits a node (here:
// DynamicNodes turned off) keeps the jobs that ran there running forever:
// the node is gone, so its replicas are never lost, and a cancel waits
// forever for them to end.
func TestRegressionNodeRefusedAtReloadStrandsJobs(t *testing.T) {
	e := newEnv(t, listedFacility(), true)
	if code := e.register("dyn", "a", 8); code != 200 {
		t.Fatal(code)
	}
	id := e.submit(spec(8, 1))
	e.pass()
	if n := e.job(id).Replicas[0].Node; n != "dyn" {
		t.Fatalf("job placed on %s, want dyn", n)
	}
	e.report("dyn", running(id, 0, 1))
	e2 := e.restart(false) // dyn is refused now
	if code := e2.register("a1", "a", 8); code != 200 {
		t.Fatal(code)
	}
	var j api.Job
	e2.do("POST", "/v1/jobs/"+id+"/cancel", nil, &j)
	for range 10 {
		e2.clock.add(time.Minute)
		e2.report("a1")
		e2.pass()
	}
	if j := e2.job(id); !api.Final(j.State) {
		t.Errorf("job on a node the restarted server refused: still %q (replica %s) 10 minutes after a cancel, want it to end (cancelled)",
			j.State, j.Replicas[0].State)
	}
}

// When the store fails, several routes answer 503, which openapi.json
// does not document for them, and listing jobs reports it as the
// client's error (400).
func TestRegressionStoreOutageStatusesUndocumented(t *testing.T) {
	e := devEnv(t)
	victim := e.submit(spec(8, 1, "priority_class", "low"))
	e.pass()
	e.report("n1", running(victim, 0, 1))
	e.submit(spec(8, 1, "priority_class", "high"))
	e.pass()
	done := e.submit(spec(0, 1, "cpus", 1))
	e.pass()
	e.report("n1", exited(done, 0, 1, 0))
	e.s.store.Close()
	for _, p := range []string{"/v1/jobs/" + done, "/v1/deployments/" + done, "/v1/jobs/" + done + "/why",
		"/v1/jobs/" + done + "/events", "/v1/events", "/v1/tenants", "/v1/usage"} {
		e.do("GET", p, nil, nil) // checkDocumented reports the status
	}
	e.do("POST", "/v1/jobs/"+victim+"/checkpoint", nil, nil)
	var p api.Problem
	if code := e.do("GET", "/v1/jobs", nil, &p); code == http.StatusBadRequest {
		t.Errorf("GET /v1/jobs with the store down: 400 %q; want 503 (the request is fine, the server is not)", p.Detail)
	}
}

// The "submitted" event that /v1/watch streams has no sequence number
// (the store assigned one to its own copy): the stream carries no "id:"
// for it, and a client cannot line the stream up with /v1/events.
func TestRegressionWatchSubmittedEventHasNoSeq(t *testing.T) {
	e := devEnv(t)
	ch, err := e.s.watch.subscribe("", "test", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer e.s.watch.unsubscribe(ch)
	id := e.submit(spec(1, 1))
	for {
		select {
		case ev := <-ch:
			if ev.Job != id || ev.Type != api.EventSubmitted {
				continue
			}
			var evs api.EventList
			e.do("GET", "/v1/jobs/"+id+"/events", nil, &evs)
			if ev.Seq == 0 {
				t.Errorf("watched submitted event has seq 0; /v1/jobs/%s/events gives it seq %d", id, evs.Events[0].Seq)
			}
			return
		case <-time.After(5 * time.Second):
			t.Fatal("no submitted event")
		}
	}
}

// A pass over an empty queue leaves the wake-up time of an earlier plan
// (a not-before job since cancelled); once it is past, the loop runs a
// pass every 10 ms for as long as the queue stays empty.
func TestRegressionStaleWakeSpinsLoop(t *testing.T) {
	e := devEnv(t)
	later := e.clock.now().Add(time.Hour).Format(time.RFC3339)
	id := e.submit(spec(1, 1, "earliest_start", later))
	e.pass()
	if j := e.job(id); j.State != api.StatePending || j.Reason == nil || j.Reason.Code != "not-before" {
		t.Fatalf("job %s %+v, want pending not-before", j.State, j.Reason)
	}
	if code := e.do("POST", "/v1/jobs/"+id+"/cancel", nil, nil); code != 200 {
		t.Fatalf("cancel: %d", code)
	}
	e.pass() // the queue is empty now
	e.clock.add(2 * time.Hour)
	if d := e.s.untilNextPass(); d < time.Second {
		t.Errorf("with nothing queued, the next pass is due in %v (a wake-up for a job cancelled an hour ago); want the timed interval (5 s)", d)
	}
}

// A registration with negative cpus or memory_gib is accepted; the core
// then keeps placing jobs on that node and plan.Verify keeps dropping the
// start, so a job that fits on another node never starts.
func TestRegressionNegativeNodeResourcesWedgeScheduling(t *testing.T) {
	e := devEnv(t) // n1: 8 H100, 32 CPUs, 256 GiB
	reg := api.Register{Name: "bad", Site: "local", CPUs: -1, MemoryGiB: -1,
		GPUs: []api.GPUInfo{{Index: 0, Model: "H100"}, {Index: 1, Model: "H100"}}}
	code := e.do("POST", "/v1/agent/register", reg, nil)
	id := e.submit(spec(1, 1))
	for range 5 {
		e.clock.add(time.Second)
		e.report("n1")
		if code == 200 {
			e.report("bad")
		}
		e.pass()
	}
	if j := e.job(id); j.State != api.StateRunning || code != 400 {
		t.Errorf("registration with cpus -1, memory_gib -1 answered %d (want 400); a 1-GPU job then stays %s (%q) for 5 passes although n1 has 8 free GPUs",
			code, j.State, j.Message)
	}
}

// An idempotency key reused with an explicit, different job ID answers
// 200 with the other job: the client asked for job "second" and is told
// it exists, under the ID "first".
func TestRegressionIdempotencyKeyIgnoresExplicitID(t *testing.T) {
	e := devEnv(t)
	post := func(id string) (int, api.Job) {
		b, _ := json.Marshal(spec(1, 1, "id", id))
		req := httptest.NewRequest("POST", "/v1/jobs", bytes.NewReader(b))
		req.Header.Set(api.IdempotencyKeyHeader, "k1")
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, req)
		var j api.Job
		json.Unmarshal(w.Body.Bytes(), &j)
		return w.Code, j
	}
	if code, _ := post("first"); code != http.StatusCreated {
		t.Fatalf("first submission: %d", code)
	}
	code, j := post("second")
	if code == http.StatusOK && j.ID != "second" {
		t.Errorf("key k1 reused with id \"second\": %d with job %q; want 409 (the key names another job) or job \"second\"", code, j.ID)
	}
}

// The loop, agents and API clients at once: under -race, this finds
// unguarded state (it checks only that every job ends in a state the
// API documents).
func TestReviewConcurrentLoop(t *testing.T) {
	e := devEnv(t)
	if code := e.register("n2", "local", 8); code != 200 {
		t.Fatal(code)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.s.Run(ctx); close(done) }()
	serve := func(method, path string, body any) []byte {
		var rd *bytes.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		} else {
			rd = bytes.NewReader(nil)
		}
		req := httptest.NewRequest(method, path, rd)
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, req)
		return w.Body.Bytes()
	}
	var wg sync.WaitGroup
	ids := make(chan string, 64)
	for k := range 4 {
		wg.Go(func() {
			for i := range 8 {
				var j api.Job
				json.Unmarshal(serve("POST", "/v1/jobs", spec(1+(i+k)%4, 1+i%2, "priority_class", []string{"low", "normal", "high"}[i%3])), &j)
				if j.ID != "" {
					ids <- j.ID
				}
				if i%3 == 0 {
					serve("POST", "/v1/deployments", spec(1, 2, "min_replicas", 1))
				}
			}
		})
	}
	for _, node := range []string{"n1", "n2"} {
		wg.Go(func() {
			for range 40 {
				var a api.Assignments
				json.Unmarshal(serve("GET", "/v1/agent/nodes/"+node+"/assignments?after=-2&wait=1ms", nil), &a)
				var sts []api.TaskStatus
				for _, tk := range a.Tasks {
					if tk.Stop || tk.Replica%2 == 0 {
						sts = append(sts, exited(tk.Job, tk.Replica, tk.Attempt, 0))
					} else {
						sts = append(sts, running(tk.Job, tk.Replica, tk.Attempt))
					}
				}
				serve("POST", "/v1/agent/nodes/"+node+"/heartbeat", api.Heartbeat{Tasks: sts,
					GPUs: []api.GPUSample{{Index: 0, PowerW: 300}, {Index: 1, PowerW: 400}}})
				time.Sleep(time.Millisecond)
			}
		})
	}
	wg.Go(func() {
		for range 40 {
			select {
			case id := <-ids:
				serve("POST", "/v1/jobs/"+id+"/cancel", nil)
				serve("POST", "/v1/jobs/"+id+"/checkpoint", nil)
			default:
			}
			serve("GET", "/v1/jobs?limit=50", nil)
			serve("GET", "/v1/nodes", nil)
			serve("GET", "/v1/tenants", nil)
			serve("GET", "/v1/sites", nil)
			serve("GET", "/metrics", nil)
			serve("GET", "/v1/plan", nil)
			e.clock.add(100 * time.Millisecond)
			time.Sleep(time.Millisecond)
		}
	})
	wg.Wait()
	cancel()
	<-done
	var list api.JobList
	e.do("GET", "/v1/jobs?limit=1000", nil, &list)
	for _, j := range list.Jobs {
		switch j.State {
		case api.StatePending, api.StateRunning, api.StatePreempting, api.StateCancelling,
			api.StateSucceeded, api.StateFailed, api.StateCancelled:
		default:
			t.Errorf("job %s in state %q", j.ID, j.State)
		}
	}
}

// A field the API fills in when it is absent (id; tenant for a caller of
// one tenant) but that the body gives as null is the body's mistake,
// named as such: it used to be answered "key \"id\" appears twice" under
// no field, of a key the body wrote once.
func TestRegressionNullFieldBlamedAsDuplicate(t *testing.T) {
	e := devEnv(t)
	member := tokenFor(t, e.s, "member", "default")
	for _, c := range []struct {
		body, field, token string
	}{
		{`{"id":null,"tenant":"default","gpus":1,"command":["x"]}`, "id", ""},
		{`{"tenant":null,"gpus":1,"command":["x"]}`, "tenant", member},
	} {
		req := httptest.NewRequest("POST", "/v1/jobs", strings.NewReader(c.body))
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, req)
		var p api.Problem
		json.Unmarshal(w.Body.Bytes(), &p)
		if w.Code != http.StatusBadRequest || len(p.Errors) != 1 || p.Errors[0].Field != c.field || strings.Contains(p.Errors[0].Message, "twice") {
			t.Errorf("%s: %d %s; want 400 naming field %s", c.body, w.Code, w.Body, c.field)
		}
	}
}
