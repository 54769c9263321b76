package server

import (
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// A node whose agent cannot write its data directory failed every task
// it was given at its start while it counted as ready: the scheduler kept
// sending it work to fail. Its agent's heartbeats now say so
// (api.Heartbeat.DiskError), and the node takes no new work, as a
// drained one, with an event, until a heartbeat without it; a restart
// keeps it.
func TestNodeWhoseAgentCannotWriteTakesNoWork(t *testing.T) {
	e := devEnv(t)
	beat := func(diskErr string) {
		t.Helper()
		if code := e.do("POST", "/v1/agent/nodes/n1/heartbeat", api.Heartbeat{DiskError: diskErr}, nil); code != 200 {
			t.Fatalf("heartbeat: %d", code)
		}
	}
	const why = "record the tasks it starts in started.json: no space left on device"
	beat(why)
	beat(why) // told once
	var n api.Node
	if code := e.do("GET", "/v1/nodes/n1", nil, &n); code != 200 || n.Condition != api.NodeDraining || n.DiskError != why {
		t.Fatalf("n1 %d %+v; want draining with its disk error", code, n)
	}
	if evs := e.nodeEvents("n1", "cannot write its data directory"); len(evs) != 1 {
		t.Errorf("events %+v; want one saying n1 takes no new work", evs)
	}
	id := e.submit(spec(1, 1))
	e.pass()
	if j := e.job(id); j.State != api.StatePending {
		t.Fatalf("job %s on a node whose agent cannot write; want it pending", j.State)
	}
	e = e.restart(true)
	if code := e.do("GET", "/v1/nodes/n1", nil, &n); code != 200 || n.DiskError != why {
		t.Errorf("after a restart n1 %d %+v; want its disk error kept", code, n)
	}
	beat("")
	e.pass()
	if j := e.job(id); j.State != api.StateRunning {
		t.Errorf("job %s once n1's agent can write again; want it running", j.State)
	}
	if evs := e.nodeEvents("n1", "can write its data directory again"); len(evs) != 1 || !strings.Contains(evs[0].Message, "takes work again") {
		t.Errorf("events %+v; want one saying n1 takes work again", evs)
	}
}

// An agent's disk error is free text, as a task's error: a NUL in it is
// escaped, not refused (a refusal would cost the node every heartbeat).
func TestDiskErrorWithNULIsEscaped(t *testing.T) {
	e := devEnv(t)
	if code := e.do("POST", "/v1/agent/nodes/n1/heartbeat", api.Heartbeat{DiskError: "open a\x00b: no space"}, nil); code != 200 {
		t.Fatalf("heartbeat with a NUL in its disk error: %d, want 200", code)
	}
	var n api.Node
	if code := e.do("GET", "/v1/nodes/n1", nil, &n); code != 200 || n.DiskError != `open a\x00b: no space` {
		t.Errorf("n1 %d, disk error %q; want it escaped", code, n.DiskError)
	}
}

// A node drained and undrained while its agent cannot write its disk
// still takes no new work: the undrain event says so, not that it
// takes new work.
func TestUndrainOfANodeWithADiskErrorSaysItStillTakesNothing(t *testing.T) {
	e := devEnv(t)
	if code := e.do("POST", "/v1/agent/nodes/n1/heartbeat", api.Heartbeat{DiskError: "open logs: read-only file system"}, nil); code != 200 {
		t.Fatalf("heartbeat: %d", code)
	}
	if code := e.do("POST", "/v1/nodes/n1/drain", nil, nil); code != 200 {
		t.Fatalf("drain: %d", code)
	}
	if code := e.do("POST", "/v1/nodes/n1/undrain", nil, nil); code != 200 {
		t.Fatalf("undrain: %d", code)
	}
	evs := e.nodeEvents("n1", "undrained")
	if len(evs) != 1 || !strings.Contains(evs[0].Message, "cannot write its data directory") {
		t.Errorf("undrain events %+v; want one saying n1 takes new work once its agent can write its data directory", evs)
	}
}
