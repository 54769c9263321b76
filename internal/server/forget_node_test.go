package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A node that joined by itself and was retired (its agent stopped for
// good) stayed listed as not ready for ever, its GPUs counted in its site
// and its power reserved in its envelope: nothing could remove it. An
// operator-admin now forgets it with DELETE /v1/nodes/{name}, with an
// event naming who; the store forgets it too (a restart does not bring it
// back).
func TestOperatorForgetsARetiredNode(t *testing.T) {
	e := newEnv(t, DevFacility("local", "FR"), true)
	if code := e.registerWith("gpu-1", "local", uuidsOf("gpu-1", 8)); code != http.StatusOK {
		t.Fatalf("register gpu-1: %d", code)
	}
	if code := e.do("DELETE", "/v1/nodes/gpu-1", nil, nil); code != http.StatusConflict {
		t.Errorf("DELETE a node whose agent reports: %d; want 409", code)
	}
	e.clock.add(time.Minute)
	e.pass() // gpu-1 is silent: not ready
	if code := e.do("DELETE", "/v1/nodes/gpu-1", nil, nil); code != http.StatusNoContent {
		t.Fatalf("DELETE a silent idle node: %d; want 204", code)
	}
	if code := e.do("GET", "/v1/nodes/gpu-1", nil, nil); code != http.StatusNotFound {
		t.Errorf("GET the forgotten node: %d; want 404", code)
	}
	var sites api.SiteList
	if code := e.do("GET", "/v1/sites", nil, &sites); code != 200 || sites.Sites[0].GPUs != 0 {
		t.Errorf("sites %d %+v; want the node's GPUs gone", code, sites.Sites)
	}
	for _, n := range e.s.fac.Nodes {
		if n.Name == "gpu-1" {
			t.Errorf("the facility still holds gpu-1 (its power counts in the site)")
		}
	}
	if evs := e.nodeEvents("gpu-1", "forgotten by an operator"); len(evs) != 1 || evs[0].Actor == "" {
		t.Errorf("events %+v; want one saying who forgot gpu-1", evs)
	}
	if code := e.do("DELETE", "/v1/nodes/gpu-1", nil, nil); code != http.StatusNotFound {
		t.Errorf("DELETE it again: %d; want 404", code)
	}
	e.s.store.Close()
	e = openEnv(t, e.dir, DevFacility("local", "FR"), true, e.clock)
	if code := e.do("GET", "/v1/nodes/gpu-1", nil, nil); code != http.StatusNotFound {
		t.Errorf("GET gpu-1 after a restart: %d; want 404", code)
	}
}

// A node the facility file lists, or one that may still run work, is
// not forgotten: the answer says why and what to do.
func TestForgetNodeRefusesWhatMayStillMatter(t *testing.T) {
	e := newEnv(t, listedFacility(), false) // a1 is in the facility file, never registered
	var p api.Problem
	if code := e.do("DELETE", "/v1/nodes/a1", nil, &p); code != http.StatusConflict || !strings.Contains(p.Detail, "facility file lists it") {
		t.Errorf("DELETE a node of the facility file: %d %q; want 409 saying so", code, p.Detail)
	}
	e2 := devEnv(t) // n1 joined by itself
	id, _, _ := oneGPUJob(e2)
	if j := e2.job(id); j.State != api.StateRunning || j.Replicas[0].Node != "n1" {
		t.Fatalf("job %+v; want it running on n1", j)
	}
	e2.clock.add(time.Minute)
	e2.pass() // n1 silent with a replica: unreachable, its replica lost
	p = api.Problem{}
	if code := e2.do("DELETE", "/v1/nodes/n1", nil, &p); code != http.StatusConflict || !strings.Contains(p.Detail, "unreachable") {
		t.Errorf("DELETE a silent node that ran a replica: %d %q; want 409 saying it may still run work", code, p.Detail)
	}
}

// An operator who just stopped a node's agent (its last heartbeat said
// it was leaving) and forgets the node is told when that works, not to
// stop the agent they stopped: the node is forgettable once silent for
// the heartbeat timeout.
func TestForgetNodeWhoseAgentIsLeavingSaysWhenItMay(t *testing.T) {
	e := newEnv(t, DevFacility("local", "FR"), true)
	if code := e.registerWith("gpu-1", "local", uuidsOf("gpu-1", 8)); code != http.StatusOK {
		t.Fatalf("register gpu-1: %d", code)
	}
	if code := e.do("POST", "/v1/agent/nodes/gpu-1/heartbeat", api.Heartbeat{Leaving: true}, nil); code != 200 {
		t.Fatalf("leaving heartbeat: %d", code)
	}
	e.clock.add(4 * time.Second)
	var p api.Problem
	code := e.do("DELETE", "/v1/nodes/gpu-1", nil, &p)
	want := "its agent is shutting down (its last heartbeat said so): it may be forgotten once silent for the heartbeat timeout (10s), in about 6s"
	if code != http.StatusConflict || !strings.Contains(p.Detail, want) {
		t.Errorf("DELETE a node whose agent is leaving: %d %q; want 409 saying %q", code, p.Detail, want)
	}
	e.clock.add(7 * time.Second)
	e.pass()
	if code := e.do("DELETE", "/v1/nodes/gpu-1", nil, nil); code != http.StatusNoContent {
		t.Errorf("DELETE once its agent was silent for the heartbeat timeout: %d; want 204", code)
	}
}
