package server

import (
	"testing"

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
