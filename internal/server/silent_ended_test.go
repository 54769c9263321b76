package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// A node that goes silent holding only a deployment's replica backing off
// after a crash (its GPUs kept, nothing running) runs nothing the server
// knows of: it is down, not unreachable at nameplate power, and its
// event does not say it may still run replicas (before, any job holding
// GPUs on it counted, ended replicas too).
func TestSilentNodeHoldingOnlyEndedReplicasIsDown(t *testing.T) {
	e := devEnv(t)
	if code := e.register("n2", "local", 8); code != 200 {
		t.Fatalf("register n2: %d", code)
	}
	var d api.Job
	if code := e.do("POST", "/v1/deployments", spec(8, 2), &d); code != http.StatusCreated {
		t.Fatalf("submit: %d", code)
	}
	e.pass()
	on := map[string]string{}
	for _, r := range e.job(d.ID).Replicas {
		on[r.Node] = r.Node
		e.report(r.Node, running(d.ID, r.Index, 1))
	}
	if len(on) != 2 {
		t.Fatalf("replicas %+v; want one on each node", e.job(d.ID).Replicas)
	}
	n2 := e.job(d.ID).Replicas[1].Node
	for idx := 1; idx <= 2; idx++ { // the second crash in a row backs off
		e.clock.add(time.Second)
		e.report("n1", running(d.ID, 0, 1))
		e.report(n2, exited(d.ID, idx, 1, 1))
		e.pass()
	}
	if r := e.job(d.ID).Replicas[2]; r.Node != n2 || r.ReplaceAt == nil {
		t.Fatalf("replica 2 %+v; want it on %s, backing off", r, n2)
	}
	e.clock.add(6 * time.Second)
	e.report("n1", running(d.ID, 0, 1))
	e.clock.add(6 * time.Second) // n2 silent for 12 s > 10 s, n1 for 6 s
	e.pass()
	e.s.mu.Lock()
	cond := e.s.nodes[n2].condition()
	e.s.mu.Unlock()
	if cond != model.NodeDown {
		t.Errorf("%s silent with no live replica: %s; want down", n2, cond)
	}
	var evs api.EventList
	e.do("GET", "/v1/events", nil, &evs)
	for _, ev := range evs.Events {
		if ev.Node == n2 && strings.Contains(ev.Message, "may still run") {
			t.Errorf("event %q; want no replica it may still run", ev.Message)
		}
	}
}
