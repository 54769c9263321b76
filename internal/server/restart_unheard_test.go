package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A node the server restores as ready from the store counts as heard
// from at the restart, so that its agent has a heartbeat timeout to
// report what it still runs. It took new work meanwhile: the first
// passes after a restart placed pending work on nodes whose agents were
// long gone, and those starts failed only at the heartbeat timeout,
// using up a retry. Such a node runs what it has (counted, as a drained
// node's) and takes nothing new until its agent reports; one that never
// does is not ready at the timeout, as before.
func TestNodeNotHeardSinceARestartTakesNoNewWork(t *testing.T) {
	e := newEnv(t, DevFacility("local", "FR"), true)
	if code := e.register("gone", "local", 8); code != 200 {
		t.Fatalf("register gone: %d", code)
	}
	ran := e.submit(spec(4, 1))
	e.pass()
	e.report("gone", running(ran, 0, 1))
	if code := e.register("back", "local", 4); code != 200 {
		t.Fatalf("register back: %d", code)
	}
	p1, p2 := e.submit(spec(4, 1)), e.submit(spec(4, 1)) // pending at the restart
	e.clock.add(time.Hour)                               // gone's agent died meanwhile
	e = e.restartQuiet(true)
	e.pass()
	for _, id := range []string{p1, p2} {
		if j := e.job(id); j.State != api.StatePending {
			t.Fatalf("%s before any agent reported since the restart: %s on %+v; want pending", id, j.State, j.Replicas)
		}
	}
	if j := e.job(ran); j.State != api.StateRunning {
		t.Fatalf("%s, running on gone at the restart: %s %q; want running", ran, j.State, j.Message)
	}
	node := func(name string) (int, api.Node) {
		var n api.Node
		return e.do("GET", "/v1/nodes/"+name, nil, &n), n
	}
	if code, n := node("gone"); code != 200 || n.Condition != api.NodeDraining || !n.NotHeardSinceRestart || n.GPUsUsed != 4 {
		t.Errorf("gone after the restart: %d %+v; want draining, not heard since the restart, 4 GPUs used", code, n)
	}
	var p api.Problem
	want := "the server has not heard from its agent since it started: it may be forgotten once silent for the heartbeat timeout (10s), in about 10s"
	if code := e.do("DELETE", "/v1/nodes/gone", nil, &p); code != http.StatusConflict || !strings.Contains(p.Detail, want) {
		t.Errorf("DELETE gone after the restart: %d %q; want 409 saying %q", code, p.Detail, want)
	}

	e.clock.add(2 * time.Second)
	e.report("back") // its agent is back: the node takes work
	if code, n := node("back"); code != 200 || n.Condition != api.NodeReady || n.NotHeardSinceRestart {
		t.Errorf("back once its agent beat: %d %+v; want ready", code, n)
	}
	e.pass()
	var on, pending int
	for _, id := range []string{p1, p2} {
		switch j := e.job(id); {
		case j.State == api.StatePending:
			pending++
		case j.State == api.StateRunning && len(j.Replicas) == 1 && j.Replicas[0].Node == "back":
			on++
		default:
			t.Errorf("%s once back's agent beat: %s on %+v; want running on back or pending", id, j.State, j.Replicas)
		}
	}
	if on != 1 || pending != 1 {
		t.Errorf("once back's agent beat: %d job(s) placed on back, %d pending; want 1 and 1 (nothing on gone)", on, pending)
	}

	e.clock.add(e.s.cfg.HeartbeatTimeout)
	e.report("back")
	e.pass()
	if code, n := node("gone"); code != 200 || n.Condition != api.NodeNotReady || n.NotHeardSinceRestart {
		t.Errorf("gone past the heartbeat timeout: %d %+v; want not ready", code, n)
	}
	if j := e.job(ran); j.State == api.StateRunning {
		t.Errorf("%s on gone, silent past the heartbeat timeout: still running; want its replica lost", ran)
	}
}
