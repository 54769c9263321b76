package server

import (
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// capRefused is the report of a replica its agent did not start because
// a GPU refused its power cap (exit code 126).
func capRefused(job string, replica, attempt int) api.TaskStatus {
	st := api.TaskStatus{Job: job, Replica: replica, Attempt: attempt, State: api.ReplicaFailed, ExitCode: ptrInt(126),
		Error: "not started: a GPU refused its 400 W power cap", CapRefused: true}
	return st
}

// A start whose cap a GPU of its node refused fails the attempt; the
// job's next attempts avoid that node, which would refuse it again:
// the retry goes to another node, and while none other fits the job
// waits with a reason that counts the node excluded.
func TestCapRefusedStartAvoidsTheNodeOnRetry(t *testing.T) {
	fac := DevFacility("local", "FR")
	fac.Sites[0].PowerEnvelopeKW = 8.8
	e := newEnv(t, fac, true)
	for _, n := range []string{"n1", "n2"} {
		if code := e.register(n, "local", 8); code != 200 {
			t.Fatalf("register %s: %d", n, code)
		}
	}
	a := e.submit(spec(8, 1))
	e.pass()
	b := e.submit(spec(8, 1, "restart", "on-failure", "max_retries", 3))
	e.pass()
	if r := e.job(b).Replicas[0]; r.Node != "n2" || r.PowerCapW == 0 {
		t.Fatalf("b %+v; want it on n2, capped", r)
	}
	e.report("n1", running(a, 0, 1))
	e.report("n2", capRefused(b, 0, 1))
	e.pass()
	j := e.job(b)
	if j.State != api.StatePending || j.Reason == nil || j.Attempt != 1 {
		t.Fatalf("b after its cap was refused: %s, attempt %d, replicas %+v; want pending, its retry kept off n2", j.State, j.Attempt, j.Replicas)
	}
	if evs := e.jobEvents(b, "could not start on n2: a GPU there refused its power cap; the job's next attempts avoid n2"); len(evs) != 1 {
		t.Errorf("b's events say %d times that its next attempts avoid n2; want once", len(evs))
	}
	if !strings.Contains(j.Reason.Message, "1 node excluded by failed-start") {
		t.Errorf("b's reason %q; want it to count n2 excluded by failed-start", j.Reason.Message)
	}
	if j.AvoidNodes == nil || j.AvoidNodes[0] != "n2" {
		t.Errorf("b's avoid_nodes %v; want [n2]", j.AvoidNodes)
	}
	// A third node: the retry goes there, not back to n2.
	if code := e.register("n3", "local", 8); code != 200 {
		t.Fatalf("register n3: %d", code)
	}
	e.report("n1", running(a, 0, 1))
	e.pass()
	if j := e.job(b); j.State != api.StateRunning || j.Replicas[0].Node != "n3" {
		t.Fatalf("b's retry: %s on %+v; want running on n3", j.State, j.Replicas)
	}
	// The list survives a restart of the server.
	e.s.store.Close()
	e = openEnv(t, e.dir, fac, true, e.clock)
	if j := e.job(b); len(j.AvoidNodes) != 1 || j.AvoidNodes[0] != "n2" {
		t.Errorf("after a restart, b's avoid_nodes %v; want [n2]", j.AvoidNodes)
	}
}

// jobEvents are job id's events whose message holds what.
func (e *env) jobEvents(id, what string) []api.Event {
	e.t.Helper()
	var l api.EventList
	if code := e.do("GET", "/v1/jobs/"+id+"/events", nil, &l); code != 200 {
		e.t.Fatalf("events of %s: %d", id, code)
	}
	var out []api.Event
	for _, ev := range l.Events {
		if strings.Contains(ev.Message, what) {
			out = append(out, ev)
		}
	}
	return out
}
