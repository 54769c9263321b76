package server

import (
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// registerDown registers node n1 with two H100s, those of down down
// and without a UUID, as an agent that could not read them does.
func registerDown(e *env, down ...api.GPUDown) int {
	e.t.Helper()
	reg := api.Register{Name: "n1", Site: "local", Address: "http://127.0.0.1:1", CPUs: 32, MemoryGiB: 256, GPUsDown: down}
	for i, uuid := range []string{"GPU-aaaaaaaa-0000-0000-0000-000000000000", "GPU-bbbbbbbb-0000-0000-0000-000000000000"} {
		if downSet(down)[i] {
			uuid = ""
		}
		reg.GPUs = append(reg.GPUs, api.GPUInfo{Index: i, UUID: uuid, Model: "H100"})
	}
	return e.do("POST", "/v1/agent/register", reg, nil)
}

// A GPU its agent reports down (lost: fallen off the bus) takes no work,
// and the node shows it; the node's other GPUs take work. Once the agent
// reports it up, it takes work again. Before, the registration of a GPU
// without a UUID beside GPUs with one was refused, and there was no
// way to say a GPU is down: the agent did not start at all.
func TestAGPUReportedDownTakesNoWork(t *testing.T) {
	e := newEnv(t, DevFacility("local", "FR"), true)
	const why = "gpu: handle of device 1: GPU is lost (the GPU has fallen off the bus)"
	if code := registerDown(e, api.GPUDown{Index: 1, Reason: why}); code != 200 {
		t.Fatalf("registration with GPU 1 down and without UUID: %d, want 200", code)
	}
	var n api.Node
	if code := e.do("GET", "/v1/nodes/n1", nil, &n); code != 200 || len(n.GPUsDown) != 1 || n.GPUsDown[0].Index != 1 || n.Condition != api.NodeReady {
		t.Fatalf("n1 %d %+v; want it ready with GPU 1 down", code, n)
	}
	first := e.submit(spec(1, 1))
	e.pass()
	if j := e.job(first); j.State != api.StateRunning || len(j.Replicas) != 1 || j.Replicas[0].GPUs[0] != 0 {
		t.Fatalf("first job %s %+v; want it running on GPU 0", j.State, j.Replicas)
	}
	second := e.submit(spec(1, 1))
	e.pass()
	if j := e.job(second); j.State != api.StatePending {
		t.Fatalf("second job %s %+v; want it pending: GPU 1 is down", j.State, j.Replicas)
	}
	if code := e.do("POST", "/v1/agent/nodes/n1/heartbeat", api.Heartbeat{GPUsDown: []api.GPUDown{{Index: 1, Reason: why}}}, nil); code != 200 {
		t.Fatalf("heartbeat: %d", code)
	}
	e.pass()
	if j := e.job(second); j.State != api.StatePending {
		t.Fatalf("second job %s while GPU 1 is still down; want it pending", j.State)
	}
	if code := e.do("POST", "/v1/agent/nodes/n1/heartbeat", api.Heartbeat{}, nil); code != 200 {
		t.Fatalf("heartbeat: %d", code)
	}
	e.pass()
	if j := e.job(second); j.State != api.StateRunning || j.Replicas[0].GPUs[0] != 1 {
		t.Fatalf("second job %s %+v once GPU 1 is up; want it running on GPU 1", j.State, j.Replicas)
	}
	var up api.Node
	if code := e.do("GET", "/v1/nodes/n1", nil, &up); code != 200 || len(up.GPUsDown) != 0 {
		t.Errorf("n1 %d, GPUs down %+v; want none", code, up.GPUsDown)
	}
	if evs := e.nodeEvents("n1", "up again"); len(evs) != 1 || !strings.Contains(evs[0].Message, "GPU(s) 1") {
		t.Errorf("events %+v; want one saying GPU 1 is up again", evs)
	}
}

// A GPU that goes down while the node runs takes no new work once its
// agent says so; a down list naming a GPU the node lacks, or one twice,
// is refused with the field named.
func TestAGPUGoingDownLaterTakesNoNewWork(t *testing.T) {
	e := newEnv(t, DevFacility("local", "FR"), true)
	if code := registerDown(e); code != 200 {
		t.Fatalf("register: %d", code)
	}
	if code := e.do("POST", "/v1/agent/nodes/n1/heartbeat", api.Heartbeat{GPUsDown: []api.GPUDown{{Index: 0, Reason: "lost"}}}, nil); code != 200 {
		t.Fatalf("heartbeat: %d", code)
	}
	if evs := e.nodeEvents("n1", "down"); len(evs) != 1 || !strings.Contains(evs[0].Message, "GPU(s) 0 down") {
		t.Errorf("events %+v; want one saying GPU 0 is down", evs)
	}
	id := e.submit(spec(2, 1))
	e.pass()
	if j := e.job(id); j.State != api.StatePending {
		t.Fatalf("2-GPU job %s on a node with one of two GPUs down; want it pending", j.State)
	}
	var p api.Problem
	for _, bad := range [][]api.GPUDown{{{Index: 2}}, {{Index: 1}, {Index: 1}}} {
		if code := e.do("POST", "/v1/agent/nodes/n1/heartbeat", api.Heartbeat{GPUsDown: bad}, &p); code != 400 || len(p.Errors) != 1 || !strings.HasPrefix(p.Errors[0].Field, "gpus_down[") {
			t.Errorf("heartbeat with GPUs down %+v: %d %+v; want 400 naming gpus_down", bad, code, p)
		}
	}
}

// A GPU down and idle counts as unschedulable in carnot_gpus, not free:
// nothing may start on it. One down that a replica holds counts as used.
func TestMetricsGPUsDownUnschedulable(t *testing.T) {
	e := newEnv(t, DevFacility("local", "FR"), true)
	if code := registerDown(e); code != 200 {
		t.Fatalf("register: %d", code)
	}
	id := e.submit(spec(1, 1))
	e.pass()
	held := e.job(id).Replicas[0].GPUs[0]
	var down []api.GPUDown
	for g := range 2 {
		down = append(down, api.GPUDown{Index: g, Reason: "lost"})
	}
	if code := e.do("POST", "/v1/agent/nodes/n1/heartbeat", api.Heartbeat{GPUsDown: down}, nil); code != 200 {
		t.Fatalf("heartbeat: %d", code)
	}
	body := e.scrape()
	for _, want := range []string{`carnot_gpus{model="H100",site="local",state="used"} 1`,
		`carnot_gpus{model="H100",site="local",state="free"} 0`, `carnot_gpus{model="H100",site="local",state="unschedulable"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics with both GPUs down, GPU %d held, lacks %s", held, want)
		}
	}
}

// A job that waits because a GPU is down is told so, in its reason and
// through why: the GPU is down, not dirty from another tenant awaiting a
// scrub (the core was told of it as a dirty GPU of no known tenant).
func TestReasonSaysGPUDownNotScrub(t *testing.T) {
	e := newEnv(t, DevFacility("local", "FR"), true)
	if code := registerDown(e, api.GPUDown{Index: 1, Reason: "lost"}); code != 200 {
		t.Fatalf("register: %d", code)
	}
	first := e.submit(spec(1, 1))
	e.pass()
	if j := e.job(first); j.State != api.StateRunning {
		t.Fatalf("first job %s; want it running on GPU 0", j.State)
	}
	second := e.submit(spec(1, 1))
	e.pass()
	j := e.job(second)
	if j.State != api.StatePending || j.Reason == nil {
		t.Fatalf("second job %s %+v; want it pending with a reason", j.State, j.Reason)
	}
	const want = "1 more are down"
	if !strings.Contains(j.Reason.Message, want) || strings.Contains(j.Reason.Message, "scrub") {
		t.Errorf("second job's reason %q; want it to say %q, nothing of a scrub", j.Reason.Message, want)
	}
	var why api.Why
	if code := e.do("GET", "/v1/jobs/"+second+"/why", nil, &why); code != 200 {
		t.Fatalf("why: %d", code)
	}
	if !strings.Contains(why.Message, want) || strings.Contains(why.Message, "scrub") {
		t.Errorf("why says %q; want it to say %q, nothing of a scrub", why.Message, want)
	}
}

// why counts a GPU down and idle as unavailable, not free: no job may
// start on it. Before, it counted as free on a node that is up, beside a
// reason that says the job finds no usable free GPU.
func TestWhyCountsGPUsDownUnavailable(t *testing.T) {
	e := newEnv(t, DevFacility("local", "FR"), true)
	if code := registerDown(e, api.GPUDown{Index: 1, Reason: "lost"}); code != 200 {
		t.Fatalf("register: %d", code)
	}
	first := e.submit(spec(1, 1))
	e.pass()
	if j := e.job(first); j.State != api.StateRunning {
		t.Fatalf("first job %s; want it running on GPU 0", j.State)
	}
	second := e.submit(spec(1, 1))
	e.pass()
	var why api.Why
	if code := e.do("GET", "/v1/jobs/"+second+"/why", nil, &why); code != 200 || why.GPUs == nil {
		t.Fatalf("why: %d %+v", code, why)
	}
	if g := why.GPUs; g.Total != 2 || g.Free != 0 || g.Unavailable != 1 || g.OwnGPUs != 1 {
		t.Errorf("why GPUs total %d, free %d, unavailable %d, own %d; want 2, 0, 1 (GPU 1, down), 1",
			g.Total, g.Free, g.Unavailable, g.OwnGPUs)
	}
}
