package server

import (
	"testing"
	"time"
)

// A node whose agent is gone when the server restarts is not ready one
// heartbeat timeout after the start, which counts it as heard from then:
// its event says no heartbeat came since the start, not "no heartbeat
// for 11s" of a node silent for an hour, which misleads an incident's
// timeline. A node that beat after the start is timed as before.
func TestSilentAfterRestartSaysSinceTheStart(t *testing.T) {
	e := newEnv(t, DevFacility("local", "FR"), true)
	for _, n := range []string{"gone", "back"} {
		if code := e.register(n, "local", 8); code != 200 {
			t.Fatalf("register %s: %d", n, code)
		}
	}
	e.clock.add(time.Hour) // both agents stopped; the server too, before it noticed
	e = e.restartQuiet(true)
	e.clock.add(2 * time.Second)
	e.report("back")
	e.clock.add(e.s.cfg.HeartbeatTimeout + time.Second)
	e.pass()
	if evs := e.nodeEvents("gone", "is not ready: no heartbeat since the server started 13s ago (the last one before is not known)"); len(evs) != 1 {
		t.Errorf("not-ready events of gone: %+v; want one saying no heartbeat came since the server started", e.nodeEvents("gone", "not ready"))
	}
	if evs := e.nodeEvents("back", "is not ready: no heartbeat for 11s"); len(evs) != 1 {
		t.Errorf("not-ready events of back: %+v; want one timed from its heartbeat after the start", e.nodeEvents("back", "not ready"))
	}
}
