package server

import (
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A node that went silent running nothing (its agent shut down cleanly)
// is not ready, not unreachable: it counts as a down node. A restart made
// it unreachable (every stored not-ready node was, a rule kept for
// databases written before the server stored api.Node.Unreachable), so
// its site reserved its nameplate power until its agent came back or an
// operator fenced it.
func TestSilentIdleNodeStaysReachableAcrossRestart(t *testing.T) {
	e := devEnv(t)
	if code := e.register("n2", "local", 8); code != 200 {
		t.Fatal(code)
	}
	e.clock.add(e.s.cfg.HeartbeatTimeout + time.Second)
	e.report("n1")
	e.pass() // n2 silent, running nothing
	var n api.Node
	if code := e.do("GET", "/v1/nodes/n2", nil, &n); code != 200 || n.Condition != api.NodeNotReady || n.Unreachable {
		t.Fatalf("n2 %d %+v; want not ready, not unreachable", code, n)
	}
	e = e.restart(true)
	n = api.Node{}
	if code := e.do("GET", "/v1/nodes/n2", nil, &n); code != 200 || n.Condition != api.NodeNotReady || n.Unreachable {
		t.Errorf("after a restart n2 %d %+v; want not ready, not unreachable", code, n)
	}
}
