package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A job cancelled while its preemption's grace runs says it is being
// cancelled, and until when its replicas may take to stop: its message
// said "preempted for …" to the end, and the cancel event gave the whole
// grace again ("grace 10m0s") where the stop keeps the preemption's
// earlier end. The grace is kept: a cancel gives the same one (the
// replicas had SIGTERM; a process that exits on it ends at once).
func TestCancelDuringPreemptionSaysCancelled(t *testing.T) {
	e := devEnv(t)
	victim := e.submit(spec(8, 1, "priority_class", "low", "checkpoint_grace", "600s"))
	e.pass()
	e.report("n1", running(victim, 0, 1))
	e.submit(spec(8, 1, "priority_class", "high"))
	e.pass()
	stopBy := *e.job(victim).StopBy
	e.clock.add(10 * time.Second)
	var j api.Job
	if code := e.do("POST", "/v1/jobs/"+victim+"/cancel", nil, &j); code != http.StatusAccepted {
		t.Fatalf("cancel: %d", code)
	}
	until := stopBy.Format(time.RFC3339)
	want := "cancelled (stopping, grace until " + until + ")"
	if j.State != api.StateCancelling || j.Message != want || j.StopBy == nil || !j.StopBy.Equal(stopBy) {
		t.Errorf("cancelled while preempted: %s %q, stop_by %v; want cancelling %q, stop_by %v", j.State, j.Message, j.StopBy, want, stopBy)
	}
	if evs := e.eventsOf(victim, api.EventCancel); len(evs) != 1 || !strings.Contains(evs[0], "until "+until) || !strings.Contains(evs[0], "1 replica ") {
		t.Errorf("cancel events %q; want one saying 1 replica stops by %s", evs, until)
	}
	// A job cancelled while it runs says so too.
	e2 := devEnv(t)
	id := e2.submit(spec(8, 1, "checkpoint_grace", "60s"))
	e2.pass()
	e2.report("n1", running(id, 0, 1))
	if code := e2.do("POST", "/v1/jobs/"+id+"/cancel", nil, &j); code != http.StatusAccepted {
		t.Fatalf("cancel: %d", code)
	}
	if want := "cancelled (stopping, grace until 2026-03-02T10:01:00Z)"; j.Message != want {
		t.Errorf("cancelled while running: %q; want %q", j.Message, want)
	}
}

// A job being cancelled may acknowledge its checkpoint as a preempted
// one does, and is stopped at once: its process cannot tell a cancel's
// SIGTERM from a preemption's, and its acknowledgement was refused 409,
// leaving it to wait out its grace.
func TestCheckpointAckWhileCancelling(t *testing.T) {
	for _, preempted := range []bool{true, false} {
		e := devEnv(t)
		id := e.submit(spec(8, 1, "priority_class", "low", "checkpoint_grace", "600s"))
		e.pass()
		e.report("n1", running(id, 0, 1))
		if preempted {
			e.submit(spec(8, 1, "priority_class", "high"))
			e.pass()
		}
		if code := e.do("POST", "/v1/jobs/"+id+"/cancel", nil, nil); code != http.StatusAccepted {
			t.Fatalf("cancel: %d", code)
		}
		e.clock.add(10 * time.Second)
		var j api.Job
		if code := e.do("POST", "/v1/jobs/"+id+"/checkpoint", nil, &j); code != http.StatusAccepted {
			t.Errorf("preempted %v: checkpoint acknowledged while cancelling: %d; want 202", preempted, code)
			continue
		}
		now := e.clock.now()
		if j.State != api.StateCancelling || j.StopBy == nil || !j.StopBy.Equal(now) || j.Message != "cancelled (stopping, grace until 2026-03-02T10:00:10Z)" {
			t.Errorf("preempted %v: after the ack: %s %q stop_by %v; want cancelling, stopping now", preempted, j.State, j.Message, j.StopBy)
		}
		if tk := e.tasks("n1"); len(tk) != 1 || !tk[0].Stop || tk[0].GraceSeconds != 0 {
			t.Errorf("preempted %v: tasks %+v; want the replica stopped with no grace", preempted, tk)
		}
	}
}
