package server

import (
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// An agent that shuts down says so in its heartbeats: its node takes no
// new work at once (draining), so the next attempt of the task it stopped
// goes to another node instead of back to the one whose agent is leaving
// (where it was lost again at the heartbeat timeout, spending a second
// retry). Once its heartbeats stop, the timeout applies as to any node;
// its next heartbeat without the flag, once it is back, makes the node
// take work again.
func TestLeavingAgentsNodeTakesNoNewWork(t *testing.T) {
	e := devEnv(t)
	if code := e.register("n2", "local", 8); code != 200 {
		t.Fatalf("register n2: %d", code)
	}
	id := e.submit(spec(8, 1, "restart", "on-failure", "max_retries", 2))
	e.pass()
	node := "n1"
	if len(e.tasks(node)) == 0 {
		node = "n2"
	}
	other := map[string]string{"n1": "n2", "n2": "n1"}[node]
	e.report(node, running(id, 0, 1))

	lost := api.TaskStatus{Job: id, Replica: 0, Attempt: 1, State: api.ReplicaLost, Error: "its node's agent stopped it while shutting down"}
	if code := e.do("POST", "/v1/agent/nodes/"+node+"/heartbeat", api.Heartbeat{Tasks: []api.TaskStatus{lost}, Leaving: true}, nil); code != 200 {
		t.Fatalf("last heartbeat: %d", code)
	}
	if c := e.apiCondition(node); c != api.NodeDraining {
		t.Errorf("%s after its agent's last heartbeat: %s, want draining", node, c)
	}
	if evs := e.nodeEvents(node, "agent is shutting down"); len(evs) != 1 {
		t.Errorf("%d events saying %s's agent is shutting down, want 1", len(evs), node)
	}
	e.pass()
	if ts := e.tasks(other); len(ts) != 1 || ts[0].Job != id || ts[0].Attempt != 2 {
		t.Errorf("tasks of %s after the pass: %+v, want %s's attempt 2 there", other, ts, id)
	}
	if ts := e.tasks(node); len(ts) != 0 {
		t.Errorf("tasks of %s, whose agent left: %+v, want none", node, ts)
	}
	e.report(node) // back
	if c := e.apiCondition(node); c != api.NodeReady {
		t.Errorf("%s once its agent beats again: %s, want ready", node, c)
	}
}

// A leaving agent that dies before its last heartbeat (killed while its
// tasks stop) leaves its node to the heartbeat timeout, as any silent
// node: the replicas it never reported ended are lost then, not kept
// running for ever on a node marked out of service.
func TestLeavingAgentsSilenceStillLosesItsReplicas(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(1, 1))
	e.pass()
	e.report("n1", running(id, 0, 1))
	stopping := running(id, 0, 1)
	stopping.Stopping = true
	if code := e.do("POST", "/v1/agent/nodes/n1/heartbeat", api.Heartbeat{Tasks: []api.TaskStatus{stopping}, Leaving: true}, nil); code != 200 {
		t.Fatalf("heartbeat while leaving: %d", code)
	}
	e.clock.add(e.s.cfg.HeartbeatTimeout + time.Second) // then SIGKILL: no more heartbeats
	e.pass()
	if c := e.apiCondition("n1"); c != api.NodeNotReady {
		t.Errorf("n1 silent past the timeout: %s, want not-ready", c)
	}
	if j := e.job(id); j.State == api.StateRunning {
		t.Errorf("job %s on the silent node: %s, want its replica lost", id, j.State)
	}
}

// apiCondition is node name's condition as the API shows it.
func (e *env) apiCondition(name string) string {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	return e.s.nodes[name].apiCondition()
}

// Undraining a node whose agent is leaving succeeds, and the event says
// why it still shows draining: it takes new work once its agent is back.
func TestUndrainLeavingNodeSaysWhenItTakesWork(t *testing.T) {
	e := devEnv(t)
	if code := e.do("POST", "/v1/nodes/n1/drain", nil, nil); code != 200 {
		t.Fatalf("drain: %d", code)
	}
	if code := e.do("POST", "/v1/agent/nodes/n1/heartbeat", api.Heartbeat{Leaving: true}, nil); code != 200 {
		t.Fatalf("leaving heartbeat: %d", code)
	}
	if code := e.do("POST", "/v1/nodes/n1/undrain", nil, nil); code != 200 {
		t.Fatalf("undrain: %d", code)
	}
	if c := e.apiCondition("n1"); c != api.NodeDraining {
		t.Errorf("n1 undrained while its agent leaves: %s, want still draining", c)
	}
	if evs := e.nodeEvents("n1", "once its agent, now shutting down, is back"); len(evs) != 1 {
		t.Errorf("%d undrain events saying when n1 takes work again, want 1", len(evs))
	}
	e.report("n1") // back
	if c := e.apiCondition("n1"); c != api.NodeReady {
		t.Errorf("n1 once its agent beats again: %s, want ready", c)
	}
}
