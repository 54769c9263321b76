package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
)

// condition is node name's condition in the snapshot ("" when missing).
func (e *env) condition(name string) model.NodeCondition {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	for _, st := range e.s.nodeStates() {
		if st.Node == name {
			return st.Condition
		}
	}
	return ""
}

// sitePowerW is site's IT load in the snapshot's power view (no plan).
func (e *env) sitePowerW(site string) float64 {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	return plan.SitePowerW(e.s.snapshot(e.clock.now()), nil)[site]
}

// nodePowerW is node name's draw at nameplate (every GPU at TDP) and as a
// down node (every GPU idle).
func (e *env) nodePowerW(name string) (nameplate, down float64) {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	n := e.s.nodes[name].node
	m := e.s.fac.GPUModels[n.GPUModel]
	return n.BaseWatts + float64(n.GPUs*m.TDPWatts), n.BaseWatts + float64(n.GPUs*m.IdleWatts)
}

// nodeEvents are the node events about node whose message holds what.
func (e *env) nodeEvents(node, what string) []api.Event {
	e.t.Helper()
	var l api.EventList
	if code := e.do("GET", "/v1/events", nil, &l); code != 200 {
		e.t.Fatalf("events: %d", code)
	}
	var out []api.Event
	for _, ev := range l.Events {
		if ev.Type == api.EventNode && ev.Node == node && strings.Contains(ev.Message, what) {
			out = append(out, ev)
		}
	}
	return out
}

// silentWithWork makes n1 run a replica of a job and go silent: it is
// unreachable, at nameplate. It returns the job.
func silentWithWork(t *testing.T, e *env) string {
	t.Helper()
	id := e.submit(spec(8, 1))
	e.pass()
	e.report("n1", running(id, 0, 1))
	e.clock.add(12 * time.Second)
	e.pass()
	nameplate, _ := e.nodePowerW("n1")
	if c, w := e.condition("n1"), e.sitePowerW("local"); c != model.NodeUnreachable || w != nameplate {
		t.Fatalf("n1 silent running %s: %s at %v W, want unreachable at %v W", id, c, w, nameplate)
	}
	return id
}

// An unreachable node that an operator fences counts as down (base and
// idle power, not nameplate) and takes nothing: across a restart of the
// server and when its agent registers again, until it is unfenced.
func TestFenceUnreachableNode(t *testing.T) {
	e := devEnv(t)
	silentWithWork(t, e)
	_, down := e.nodePowerW("n1")

	var n api.Node
	if code := e.do("POST", "/v1/nodes/n1/fence", nil, &n); code != 200 || !n.Fenced {
		t.Fatalf("fence: %d %+v", code, n)
	}
	if c, w := e.condition("n1"), e.sitePowerW("local"); c != model.NodeDown || w != down {
		t.Fatalf("fenced n1: %s at %v W, want down at %v W", c, w, down)
	}
	if evs := e.nodeEvents("n1", "node n1 fenced"); len(evs) != 1 || !byToken(evs[0].Actor, "operator-admin") ||
		!strings.Contains(evs[0].Message, "counts as stopped") {
		t.Fatalf("fence events %+v, want one by token:operator-admin saying its work counts as stopped", evs)
	}

	// Across a restart: still fenced, down, not unreachable.
	e.s.store.Close()
	e = openEnv(t, e.dir, DevFacility("local", "FR"), true, e.clock)
	if c := e.condition("n1"); c != model.NodeDown {
		t.Fatalf("after a restart, fenced n1 is %s, want down", c)
	}
	if code := e.do("GET", "/v1/nodes/n1", nil, &n); code != 200 || !n.Fenced {
		t.Fatalf("after a restart: %d %+v, want fenced", code, n)
	}

	// Its agent registers again, running nothing: it stays fenced and
	// takes nothing.
	if code := e.register("n1", "local", 8); code != 200 {
		t.Fatal(code)
	}
	e.report("n1")
	id := e.submit(spec(1, 1))
	e.pass()
	if c := e.condition("n1"); c != model.NodeDown {
		t.Fatalf("fenced n1 registered again: %s, want down", c)
	}
	if j := e.job(id); j.State != api.StatePending {
		t.Fatalf("job with only fenced n1 to run on: %s, want pending", j.State)
	}
	e.do("GET", "/v1/nodes/n1", nil, &n)
	if !n.Fenced || n.Condition != api.NodeReady {
		t.Fatalf("fenced n1 registered again: %+v, want ready and fenced", n)
	}
	if evs := e.nodeEvents("n1", "it is fenced: it takes no work"); len(evs) != 1 {
		t.Errorf("registration events of fenced n1 %+v, want one saying it is fenced", evs)
	}

	// Unfenced, it takes work again.
	if code := e.do("POST", "/v1/nodes/n1/unfence", nil, &n); code != 200 || n.Fenced {
		t.Fatalf("unfence: %d %+v", code, n)
	}
	e.pass()
	if c := e.condition("n1"); c != model.NodeUp {
		t.Fatalf("unfenced n1: %s, want up", c)
	}
	if j := e.job(id); j.State != api.StateRunning {
		t.Fatalf("job after unfence: %s (%s), want running", j.State, j.Message)
	}
	if evs := e.nodeEvents("n1", "node n1 unfenced"); len(evs) != 1 || !byToken(evs[0].Actor, "operator-admin") {
		t.Errorf("unfence events %+v, want one by token:operator-admin", evs)
	}
}

// A silent node that is unfenced is handled as any silent node: down,
// not unreachable (its lost work was confirmed stopped).
func TestUnfenceSilentNode(t *testing.T) {
	e := devEnv(t)
	silentWithWork(t, e)
	e.do("POST", "/v1/nodes/n1/fence", nil, nil)
	var n api.Node
	if code := e.do("POST", "/v1/nodes/n1/unfence", nil, &n); code != 200 || n.Fenced || n.Condition != api.NodeNotReady {
		t.Fatalf("unfence: %d %+v, want not-ready, not fenced", code, n)
	}
	if c := e.condition("n1"); c != model.NodeDown {
		t.Fatalf("unfenced silent n1: %s, want down", c)
	}
}

// A fenced node whose agent reports a task running (it was not off
// after all) stays fenced; the task is not assigned, so its agent stops
// it, and while it reports it the node counts at nameplate.
func TestFencedNodeReportingWork(t *testing.T) {
	e := devEnv(t)
	id := silentWithWork(t, e)
	nameplate, down := e.nodePowerW("n1")
	e.do("POST", "/v1/nodes/n1/fence", nil, nil)
	if code := e.register("n1", "local", 8, running(id, 0, 1)); code != 200 {
		t.Fatal(code)
	}
	if tasks := e.tasks("n1"); len(tasks) != 0 {
		t.Fatalf("fenced n1 is assigned %+v, want nothing", tasks)
	}
	if c, w := e.condition("n1"), e.sitePowerW("local"); c != model.NodeUnreachable || w != nameplate {
		t.Fatalf("fenced n1 reporting a task: %s at %v W, want unreachable at %v W", c, w, nameplate)
	}
	if evs := e.nodeEvents("n1", "not assigned"); len(evs) != 1 {
		t.Errorf("events %+v, want one saying fenced n1 runs a task it was not assigned", evs)
	}
	e.report("n1", running(id, 0, 1)) // once, not at every heartbeat
	if evs := e.nodeEvents("n1", "not assigned"); len(evs) != 1 {
		t.Errorf("after another heartbeat: %d events, want 1", len(evs))
	}
	e.report("n1")
	if c, w := e.condition("n1"), e.sitePowerW("local"); c != model.NodeDown || w != down {
		t.Fatalf("fenced n1 reporting nothing: %s at %v W, want down at %v W", c, w, down)
	}
	var n api.Node
	if e.do("GET", "/v1/nodes/n1", nil, &n); !n.Fenced {
		t.Fatalf("n1 after its agent reported: %+v, want fenced", n)
	}
}

// Fencing a node that runs replicas (forced, as it reports) loses them
// (an operator says it is off): the job's attempt ends and the node
// takes nothing.
func TestFenceNodeWithLiveReplicas(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(8, 1))
	e.pass()
	e.report("n1", running(id, 0, 1))
	var n api.Node
	if code := e.do("POST", "/v1/nodes/n1/fence?force=true", nil, &n); code != 200 || !n.Fenced || len(n.Jobs) != 0 {
		t.Fatalf("fence: %d %+v, want fenced without jobs", code, n)
	}
	j := e.job(id)
	if j.State == api.StateRunning || j.Replicas[0].State != api.ReplicaLost {
		t.Fatalf("job on the fenced node: %s, replica %s; want its replica lost", j.State, j.Replicas[0].State)
	}
	if tasks := e.tasks("n1"); len(tasks) != 0 {
		t.Fatalf("fenced n1 is assigned %+v, want nothing", tasks)
	}
	if c := e.condition("n1"); c != model.NodeDown {
		t.Fatalf("fenced ready n1: %s, want down", c)
	}
}

// Fencing needs an operator-admin token, and a node that exists.
func TestFenceRefusals(t *testing.T) {
	e := devEnv(t)
	for _, c := range []struct {
		role, tenant, path string
		want               int
		detail             string
	}{
		{"operator", "", "/v1/nodes/n1/fence", http.StatusForbidden, "only an operator-admin fences"},
		{"operator", "", "/v1/nodes/n1/unfence", http.StatusForbidden, "only an operator-admin fences"},
		{"member", "default", "/v1/nodes/n1/fence", http.StatusForbidden, "only an operator-admin fences"},
		{"operator-admin", "", "/v1/nodes/nope/fence", http.StatusNotFound, `no node "nope"`},
		{"operator-admin", "", "/v1/nodes/nope/unfence", http.StatusNotFound, `no node "nope"`},
	} {
		code, body := e.doWith(withBearer(tokenFor(t, e.s, c.role, c.tenant)), "POST", c.path, nil, nil)
		var p api.Problem
		if err := json.Unmarshal(body, &p); err != nil || code != c.want || !strings.Contains(p.Detail, c.detail) {
			t.Errorf("%s POST %s: %d %s, want %d saying %q", c.role, c.path, code, body, c.want, c.detail)
		}
	}
	var n api.Node
	if e.do("GET", "/v1/nodes/n1", nil, &n); n.Fenced {
		t.Fatalf("n1 fenced by a refused request: %+v", n)
	}
}

// A fenced node that goes silent while its agent reported a task running
// may still run it: it counts at nameplate until an operator fences it
// again.
func TestFencedNodeSilentWithWork(t *testing.T) {
	e := devEnv(t)
	id := silentWithWork(t, e)
	nameplate, down := e.nodePowerW("n1")
	e.do("POST", "/v1/nodes/n1/fence", nil, nil)
	e.report("n1", running(id, 0, 1))
	e.clock.add(12 * time.Second)
	e.pass()
	if c, w := e.condition("n1"), e.sitePowerW("local"); c != model.NodeUnreachable || w != nameplate {
		t.Fatalf("fenced n1 silent after reporting a task: %s at %v W, want unreachable at %v W", c, w, nameplate)
	}
	var n api.Node
	if code := e.do("POST", "/v1/nodes/n1/fence", nil, &n); code != 200 || !n.Fenced {
		t.Fatalf("fence again: %d %+v", code, n)
	}
	if c, w := e.condition("n1"), e.sitePowerW("local"); c != model.NodeDown || w != down {
		t.Fatalf("n1 fenced again: %s at %v W, want down at %v W", c, w, down)
	}
	if evs := e.nodeEvents("n1", "node n1 fenced again"); len(evs) != 1 || !byToken(evs[0].Actor, "operator-admin") {
		t.Errorf("events %+v, want one fence again by token:operator-admin", evs)
	}
}
