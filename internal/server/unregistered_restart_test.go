package server

import (
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A node the facility file lists, drained before its agent ever
// registered, is stored not ready; across a restart it is still only
// unregistered: not unreachable (which says it may still run work, and
// counts it at nameplate once it registers, until its agent reports),
// since it never ran anything.
func TestDrainedUnregisteredNodeIsNotUnreachableAfterRestart(t *testing.T) {
	e := newEnv(t, twoListed(), false)
	if code := e.do("POST", "/v1/nodes/a2/drain", nil, nil); code != 200 {
		t.Fatalf("drain a2: %d", code)
	}
	e.s.store.Close()
	e = openEnv(t, e.dir, twoListed(), false, e.clock)
	var n api.Node
	if code := e.do("GET", "/v1/nodes/a2", nil, &n); code != 200 || !n.Drained || n.Unreachable {
		t.Errorf("a2 after a restart: %d drained=%v unreachable=%v; want drained, not unreachable", code, n.Drained, n.Unreachable)
	}
}

// A node that went silent keeps, across a restart, the time of its last
// heartbeat: `carnot nodes` shows how long it has been gone, not a
// heartbeat at the restart. Nothing else changes: it is still not ready.
func TestSilentNodeKeepsItsLastHeartbeatAcrossRestart(t *testing.T) {
	e := devEnv(t)
	var n api.Node
	if code := e.do("GET", "/v1/nodes/n1", nil, &n); code != 200 {
		t.Fatalf("get n1: %d", code)
	}
	last := n.LastHeartbeat
	e.clock.add(time.Minute)
	e.pass()
	if code := e.do("GET", "/v1/nodes/n1", nil, &n); code != 200 || n.Condition != api.NodeNotReady {
		t.Fatalf("n1 after a minute of silence: %d %s; want not-ready", code, n.Condition)
	}
	e.clock.add(time.Hour)
	e.s.store.Close()
	e = openEnv(t, e.dir, DevFacility("local", "FR"), true, e.clock)
	if code := e.do("GET", "/v1/nodes/n1", nil, &n); code != 200 || !n.LastHeartbeat.Equal(last) || n.Condition != api.NodeNotReady {
		t.Errorf("n1 after a restart: %d %s, last heartbeat %s; want not-ready, last heard at %s", code, n.Condition, n.LastHeartbeat, last)
	}
	e.clock.add(time.Minute)
	e.pass()
	if evs := e.nodeEvents("n1", "not ready"); len(evs) != 1 {
		t.Errorf("not-ready events of n1 %+v; want the one before the restart", evs)
	}
}
