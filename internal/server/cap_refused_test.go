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

// A start its agent could not make for a cause of the node's own
// (AvoidNode: the program missing there) is avoided as a refused cap
// is: the retry goes to another node, with an event that says why. A
// start failure without it (the job's own: its script missing from its
// work directory) is retried anywhere, no node avoided.
func TestStartFailureOfTheNodeAvoidsItOnRetry(t *testing.T) {
	e := newEnv(t, DevFacility("local", "FR"), true)
	for _, n := range []string{"n1", "n2"} {
		if code := e.register(n, "local", 8); code != 200 {
			t.Fatalf("register %s: %d", n, code)
		}
	}
	id := e.submit(spec(8, 1, "restart", "on-failure", "max_retries", 3))
	e.pass()
	on := e.job(id).Replicas[0].Node
	own := api.TaskStatus{Job: id, Replica: 0, Attempt: 1, State: api.ReplicaFailed, ExitCode: ptrInt(127),
		Error: `start: exec: "./train.sh": no such file or directory`}
	e.report(on, own)
	e.pass()
	j := e.job(id)
	if j.State != api.StateRunning || j.Attempt != 2 || len(j.AvoidNodes) != 0 {
		t.Fatalf("after a failure of the job's own: %s, attempt %d, avoid_nodes %v; want running again, no node avoided", j.State, j.Attempt, j.AvoidNodes)
	}
	on = j.Replicas[0].Node
	e.report(on, api.TaskStatus{Job: id, Replica: 0, Attempt: 2, State: api.ReplicaFailed, ExitCode: ptrInt(127),
		Error: `start: "python3" is not in the task's PATH (/usr/bin:/bin)`, AvoidNode: true})
	e.pass()
	j = e.job(id)
	if j.State != api.StateRunning || len(j.AvoidNodes) != 1 || j.AvoidNodes[0] != on || j.Replicas[0].Node == on {
		t.Fatalf("after a failure of %s's: %s on %+v, avoid_nodes %v; want running elsewhere, %s avoided", on, j.State, j.Replicas, j.AvoidNodes, on)
	}
	if evs := e.jobEvents(id, `could not start on `+on+`: a cause of that node's (start: "python3" is not in the task's PATH`); len(evs) != 1 {
		t.Errorf("%d events say why %s is avoided; want one", len(evs), on)
	}
}

// A job whose failed starts left every node that could run it in its
// avoid_nodes fails, its retries left unused: no retry could start, and
// it would wait for ever (a program missing from the only node of a
// `carnot dev`). Before, it stayed pending with a reason counting the
// node excluded until someone cancelled it.
func TestJobAvoidingEveryNodeFails(t *testing.T) {
	e := newEnv(t, DevFacility("local", "FR"), true)
	if code := e.register("n1", "local", 8); code != 200 {
		t.Fatalf("register n1: %d", code)
	}
	id := e.submit(spec(8, 1, "restart", "on-failure", "max_retries", 3))
	e.pass()
	e.report("n1", api.TaskStatus{Job: id, Replica: 0, Attempt: 1, State: api.ReplicaFailed, ExitCode: ptrInt(127),
		Error: `start: "pyhton" is not in the task's PATH (/usr/bin:/bin)`, AvoidNode: true})
	e.pass()
	j := e.job(id)
	if j.State != api.StateFailed || !strings.Contains(j.Message, "every node that could run it") || !strings.Contains(j.Message, "pyhton") {
		t.Fatalf("job %s: %q; want it failed, saying every node that could run it is avoided", j.State, j.Message)
	}
}
