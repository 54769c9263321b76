package server

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/store"
)

// nodeEvents are the node events of node, in order.
func nodeEvents(t *testing.T, s store.Store, node string) []api.Event {
	t.Helper()
	evs, err := s.Events(context.Background(), store.EventFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []api.Event
	for _, ev := range evs {
		if ev.Node == node && ev.Type == api.EventNode {
			out = append(out, ev)
		}
	}
	return out
}

// storedNodes are the names of the nodes in the store.
func storedNodes(t *testing.T, s store.Store) []string {
	t.Helper()
	nodes, err := s.Nodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range nodes {
		out = append(out, n.Name)
	}
	return out
}

// A node removed from the facility file that runs nothing: at the next
// start the store forgets it, and one node event (of actor
// server:config) says so. The next start has nothing to say of it: no
// event, no warning. (One that may still run work stays until fenced:
// TestRemovedNodeWithWorkCountsUntilFenced.)
func TestRemovedNodeIsForgottenOnce(t *testing.T) {
	e := newEnv(t, twoListed(), false)
	for _, name := range []string{"a1", "a2"} {
		if code := e.register(name, "a", 8); code != 200 {
			t.Fatalf("register %s: %d", name, code)
		}
	}
	e.s.store.Close()

	var log bytes.Buffer
	logTo := func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&log, nil)) }
	e = openEnv(t, e.dir, listedFacility(), false, e.clock, logTo)
	evs := nodeEvents(t, e.s.store, "a2")
	if len(evs) == 0 || !strings.Contains(evs[len(evs)-1].Message, "removed") || evs[len(evs)-1].Actor != actorConfig {
		t.Fatalf("a2's node events %+v; want the last saying it was removed, by %s", evs, actorConfig)
	}
	if got := storedNodes(t, e.s.store); len(got) != 1 || got[0] != "a1" {
		t.Errorf("stored nodes after a2's removal: %v; want [a1]", got)
	}
	if code := e.do("GET", "/v1/nodes/a2", nil, nil); code != 404 {
		t.Errorf("GET /v1/nodes/a2: %d; want 404", code)
	}
	n := len(evs)
	e.s.store.Close()

	log.Reset()
	e = openEnv(t, e.dir, listedFacility(), false, e.clock, logTo)
	if evs := nodeEvents(t, e.s.store, "a2"); len(evs) != n {
		t.Errorf("a second start recorded %d more node events of a2: %+v", len(evs)-n, evs[n:])
	}
	if strings.Contains(log.String(), "a2") {
		t.Errorf("a second start logged of a2: %s", log.String())
	}
}

// A node the facility still lists, stored as it no longer fits (the
// file moved it to another site), keeps its place in the facility, and
// an operator's drain, but is unregistered until its agent registers
// again as the file says; an event says so, once.
func TestListedNodeThatNoLongerFitsIsReset(t *testing.T) {
	e := newEnv(t, twoListed(), false)
	if code := e.register("a2", "a", 8); code != 200 {
		t.Fatalf("register a2: %d", code)
	}
	if code := e.do("POST", "/v1/nodes/a2/drain", nil, nil); code != 200 {
		t.Fatalf("drain a2: %d", code)
	}
	e.s.store.Close()
	moved := twoListed()
	moved.Nodes[1].Site, moved.Nodes[1].Hall, moved.Nodes[1].Rack = "b", "b-hall", ""
	e = openEnv(t, e.dir, moved, false, e.clock)
	evs := nodeEvents(t, e.s.store, "a2")
	if len(evs) == 0 || !strings.Contains(evs[len(evs)-1].Message, "no longer fits") {
		t.Fatalf("a2's node events %+v; want the last saying its record no longer fits", evs)
	}
	var n api.Node
	if code := e.do("GET", "/v1/nodes/a2", nil, &n); code != 200 || !n.Drained || n.Site != "b" || n.Condition != api.NodeNotReady {
		t.Errorf("a2 after the restart: %d %+v; want it drained, in site b, not ready", code, n)
	}
	k := len(evs)
	e.s.store.Close()
	e = openEnv(t, e.dir, moved, false, e.clock)
	if evs := nodeEvents(t, e.s.store, "a2"); len(evs) != k {
		t.Errorf("a second start recorded %d more node events of a2: %+v", len(evs)-k, evs[k:])
	}
	if code := e.register("a2", "b", 8); code != 200 {
		t.Errorf("a2 registering in site b: %d", code)
	}
}

// With --stop-after-disconnect, a node removed from the facility file
// keeps its replicas until its agent, refused from the start on, has
// stopped them (the setting, their grace, a heartbeat and a margin after
// the start), as a silent node's: their next attempts do not start
// while they may still run (a gang's rank twice). Meanwhile the node
// counts at nameplate; then as a down node, until forgotten.
func TestRemovedNodeWaitsForItsAgentToStopItsWork(t *testing.T) {
	e := newEnv(t, twoListed(), false)
	for _, name := range []string{"a1", "a2"} {
		if code := e.register(name, "a", 8); code != 200 {
			t.Fatalf("register %s: %d", name, code)
		}
	}
	if code := e.do("POST", "/v1/nodes/a1/drain", nil, nil); code != 200 {
		t.Fatalf("drain a1: %d", code)
	}
	id := e.submit(spec(8, 1, "restart", "on-failure", "max_retries", 1))
	e.pass()
	e.report("a2", running(id, 0, 1))
	e.s.store.Close()

	stop := func(c *Config) { c.StopAfterDisconnect = 30 * time.Second }
	e = openEnv(t, e.dir, listedFacility(), false, e.clock, stop)
	if j := e.job(id); j.State != api.StateRunning || j.Replicas[0].State != api.ReplicaRunning {
		t.Fatalf("job on removed a2 right after the start: %s, replica %s; want running until its agent has stopped it", j.State, j.Replicas[0].State)
	}
	if evs := nodeEvents(t, e.s.store, "a2"); len(evs) == 0 || !strings.Contains(evs[len(evs)-1].Message, "count as lost at") {
		t.Errorf("a2's node events %+v; want the last saying when its replicas count as lost", evs)
	}
	if c := e.condition("a2"); c != model.NodeUnreachable {
		t.Errorf("a2 while its agent may still run its work: %q; want unreachable (at nameplate)", c)
	}
	// 30 s, the job's 5 s grace, a 1 s heartbeat and the 2 s margin
	e.clock.add(37 * time.Second)
	e.report("a1")
	e.pass()
	if j := e.job(id); j.Replicas[0].State != api.ReplicaRunning {
		t.Fatalf("a second before its agent has surely stopped it: replica %s; want still running", j.Replicas[0].State)
	}
	e.clock.add(2 * time.Second)
	e.report("a1")
	e.pass()
	if j := e.job(id); j.Replicas[0].State != api.ReplicaLost || j.State != api.StatePending {
		t.Errorf("once its agent has stopped it: %s, replica %s; want it lost and the job queued again", j.State, j.Replicas[0].State)
	}
	if c := e.condition("a2"); c != model.NodeDown {
		t.Errorf("a2 once its agent has stopped its work: %q; want down", c)
	}
}
