package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// restart closes e's store and opens a new server on the same directory
// and clock, as a server restart does.
func (e *env) restart(dynamic bool) *env {
	e.t.Helper()
	e.s.store.Close()
	return openEnv(e.t, e.dir, e.s.cfg.Facility, dynamic, e.clock)
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
func TestBugCancelDuringFailureStopIsIgnored(t *testing.T) {
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
func TestBugCancelDuringPreemptionRequeues(t *testing.T) {
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
func TestBugRestartForgetsFailureStop(t *testing.T) {
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
func TestBugAssignmentVersionReusedAfterRestart(t *testing.T) {
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
func TestBugDeploymentScaleUpOvercountsGPUSeconds(t *testing.T) {
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
func TestBugDeploymentEndedReplicaHoldsGPUs(t *testing.T) {
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
func TestBugNegativePowerSamplePanics(t *testing.T) {
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
func TestBugOutOfOrderSampleOvercountsEnergy(t *testing.T) {
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
		t.Errorf("IT energy %v kWh for 2 s at 1 kW, want %v: the late sample made the next one count %.0f s",
			got, want, (got-want/2)*3600)
	}
}

// Telemetry samples for GPU indices the node does not have are kept
// forever: an agent (or anyone, the routes have no auth) grows the
// server's memory without bound.
func TestBugTelemetryIndicesUnbounded(t *testing.T) {
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
