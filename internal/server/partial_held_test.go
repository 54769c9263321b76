package server

import (
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// The replica a partial preemption takes holds its GPUs until it has
// ended, as the core counts them: the node, its site, the tenant and a
// why of a job waiting for GPUs count them as held, not free. A
// deployment of 4 replicas × 2 GPUs on n1's 8 gives one up for a
// high-priority 2-GPU job; until that replica ends, all 8 GPUs are in
// use.
func TestLeavingReplicasHoldTheirGPUs(t *testing.T) {
	e := devEnv(t)
	d, boss := partialPreemption(e)
	if v := e.job(d.ID); v.Preemptions != 1 || v.State != api.StateRunning {
		t.Fatalf("deployment %s, %d preemptions; want running, 1", v.State, v.Preemptions)
	}
	var n api.Node
	e.do("GET", "/v1/nodes/n1", nil, &n)
	if n.GPUsUsed != 8 {
		t.Errorf("node n1 gpus_used %d, want 8 (the leaving replica still runs)", n.GPUsUsed)
	}
	var sl api.SiteList
	e.do("GET", "/v1/sites", nil, &sl)
	used := 0
	for _, s := range sl.Sites {
		used += s.GPUsUsed
	}
	if used != 8 {
		t.Errorf("sites' gpus_used %d, want 8: %+v", used, sl.Sites)
	}
	var tl api.TenantList
	e.do("GET", "/v1/tenants", nil, &tl)
	held := 0
	for _, tn := range tl.Tenants {
		for _, g := range tn.GPUsUsed {
			held += g
		}
	}
	if held != 8 {
		t.Errorf("tenants' gpus_used %d, want 8: %+v", held, tl.Tenants)
	}
	// A GPU of the leaving replica goes down: it is held, so used, not
	// also idle and unschedulable (carnot_gpus sums to the node's 8).
	var lost int
	for _, r := range e.job(d.ID).Replicas {
		if r.StopBy != nil {
			lost = r.GPUs[0]
		}
	}
	v := e.version("n1")
	hb := api.Heartbeat{AssignmentsVersion: &v, GPUsDown: []api.GPUDown{{Index: lost, Reason: "lost"}},
		Tasks: []api.TaskStatus{running(d.ID, 0, 1), running(d.ID, 1, 1), running(d.ID, 2, 1), running(d.ID, 3, 1)}}
	if code := e.do("POST", "/v1/agent/nodes/n1/heartbeat", hb, nil); code != 200 {
		t.Fatalf("heartbeat: %d", code)
	}
	body := e.scrape()
	for _, want := range []string{`carnot_gpus{model="H100",site="local",state="used"} 8`,
		`carnot_gpus{model="H100",site="local",state="free"} 0`, `carnot_gpus{model="H100",site="local",state="unschedulable"} 0`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics with GPU %d of the leaving replica down lacks %s", lost, want)
		}
	}
	var why api.Why
	e.do("GET", "/v1/jobs/"+boss+"/why", nil, &why)
	if why.GPUs == nil || why.GPUs.OwnGPUs+why.GPUs.Others.GPUs != 8 || why.GPUs.Free != 0 {
		t.Errorf("why %s: gpus %+v; want 8 held, none free", boss, why.GPUs)
	}
}
