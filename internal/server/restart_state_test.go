package server

import (
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// What the server knows of a node back from silence outlives a restart:
// while its agent still reports a replica it lost running, nothing is
// placed there, whether the server restarted in between or not; the
// node's record says so (api.Node.Unreachable).
func TestUnreachableNodeSurvivesRestart(t *testing.T) {
	for _, restart := range []bool{false, true} {
		e := devEnv(t)
		if code := e.register("n2", "local", 8); code != 200 {
			t.Fatal(code)
		}
		b := e.submit(spec(8, 1))
		e.pass()
		nb := e.job(b).Replicas[0].Node
		other := map[string]string{"n1": "n2", "n2": "n1"}[nb]
		e.report(nb, running(b, 0, 1))
		e.clock.add(e.s.cfg.HeartbeatTimeout + time.Second)
		e.report(other)
		e.pass()                       // nb silent: b lost
		e.report(nb, running(b, 0, 1)) // back, its agent still runs b
		x := e.submit(spec(8, 2))      // needs both nodes
		if restart {
			e = e.restart(true)
		}
		var n api.Node
		if code := e.do("GET", "/v1/nodes/"+nb, nil, &n); code != 200 || !n.Unreachable {
			t.Errorf("restart %v: node %s %d %+v; want it unreachable", restart, nb, code, n)
		}
		e.report(nb, running(b, 0, 1))
		e.report(other)
		e.pass()
		if j := e.job(x); j.State == api.StateRunning {
			t.Errorf("restart %v: x started on %s while its agent reports lost b still running there", restart, nb)
		}
		e.report(nb) // b has stopped
		e.pass()
		if j := e.job(x); j.State != api.StateRunning {
			t.Errorf("restart %v: x %s %q once %s runs nothing; want it started", restart, j.State, j.Message, nb)
		}
	}
}

// A start held for a lowering on a node back from silence, whose agent
// still reports the lowered replica (lost meanwhile) at the raised
// limit, stays held across a restart.
func TestHeldStartOnUnreachableNodeSurvivesRestart(t *testing.T) {
	e, b, c := lentAcrossNodes(t)
	e.clock.add(e.s.cfg.HeartbeatTimeout + time.Second)
	e.report("n1")
	e.pass()                                     // n2 silent: b lost, n2 may still run it
	e.report("n2", withCap(running(b, 0, 1), 0)) // back, still running b uncapped
	if e.listed("n1", c) {
		t.Fatalf("n1 lists c while n2 reports b running at the raised limit")
	}
	e = e.restart(true)
	if e.listed("n1", c) {
		t.Fatalf("after a restart n1 lists c while n2's agent last reported b running at the raised limit")
	}
	e.report("n2", withCap(running(b, 0, 1), 0))
	if e.listed("n1", c) {
		t.Fatalf("after a restart n1 lists c while n2's agent still reports b running uncapped")
	}
	e.report("n2")
	if !e.listed("n1", c) {
		t.Errorf("n1's tasks %+v once n2 runs nothing; want c's", e.tasks("n1"))
	}
}
