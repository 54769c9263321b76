package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// A pipeline: train waits for prep, out of the queue, with a reason
// naming it; it starts at the first pass after prep succeeded; eval,
// waiting on train, too. GPUs were free all along.
func TestDependsOnWaitsForSuccess(t *testing.T) {
	e := devEnv(t)
	prep := e.submit(spec(1, 1, "id", "prep"))
	train := e.submit(spec(2, 1, "id", "train", "depends_on", []string{"prep"}))
	eval := e.submit(spec(1, 1, "id", "eval", "depends_on", "train"))
	e.pass()
	if j := e.job(prep); j.State != api.StateRunning {
		t.Fatalf("prep is %s; want running", j.State)
	}
	for id, want := range map[string]string{train: "dependency: waits for prep (running) to succeed", eval: "dependency: waits for train (pending) to succeed"} {
		j := e.job(id)
		if j.State != api.StatePending || j.Reason == nil || j.Reason.Code != string(model.ReasonDependency) || j.Reason.Message != want {
			t.Errorf("%s: %s, reason %+v; want pending with %q", id, j.State, j.Reason, want)
		}
	}
	e.report("n1", exited(prep, 0, 1, 0))
	e.pass()
	if j := e.job(train); j.State != api.StateRunning {
		t.Fatalf("after prep succeeded, train is %s (%s); want running", j.State, j.Message)
	}
	if j := e.job(eval); j.State != api.StatePending || j.Reason == nil || j.Reason.Message != "dependency: waits for train (running) to succeed" {
		t.Errorf("eval: %s, %+v", j.State, j.Reason)
	}
	e.report("n1", exited(train, 0, 1, 0))
	e.pass()
	if j := e.job(eval); j.State != api.StateRunning {
		t.Errorf("after train succeeded, eval is %s (%s); want running", j.State, j.Message)
	}
}

// A dependency that fails cancels the jobs waiting for it, and theirs in
// turn, each saying why; a job that waits for two starts only after both.
func TestDependsOnFailureCancelsDependents(t *testing.T) {
	e := devEnv(t)
	a := e.submit(spec(1, 1, "id", "a"))
	b := e.submit(spec(1, 1, "id", "b"))
	c := e.submit(spec(1, 1, "id", "c", "depends_on", []string{"a", "b"}))
	d := e.submit(spec(1, 1, "id", "d", "depends_on", []string{"c"}))
	e.pass()
	e.report("n1", exited(a, 0, 1, 0), running(b, 0, 1))
	e.pass()
	if j := e.job(c); j.State != api.StatePending || j.Reason == nil || j.Reason.Message != "dependency: waits for b (running) to succeed" {
		t.Fatalf("c with a done and b running: %s, %+v", j.State, j.Reason)
	}
	e.report("n1", exited(b, 0, 1, 3))
	e.pass()
	if j := e.job(c); j.State != api.StateCancelled || j.Message != "dependency b failed" {
		t.Errorf("c after b failed: %s %q; want cancelled: dependency b failed", j.State, j.Message)
	}
	if j := e.job(d); j.State != api.StateCancelled || j.Message != "dependency c cancelled" {
		t.Errorf("d after c was cancelled: %s %q; want cancelled: dependency c cancelled", j.State, j.Message)
	}
}

// A submission's dependencies must be jobs of its tenant that can still
// succeed: an unknown or failed one, a deployment, or itself are refused
// with the field named.
func TestDependsOnRefusals(t *testing.T) {
	e := devEnv(t)
	bad := e.submit(spec(1, 1, "id", "bad"))
	e.pass()
	e.report("n1", exited(bad, 0, 1, 1))
	e.pass()
	var dep api.Job
	if code := e.do("POST", "/v1/deployments", spec(1, 1, "id", "svc"), &dep); code != http.StatusCreated {
		t.Fatalf("deployment: %d", code)
	}
	for _, c := range []struct {
		deps any
		code int
		msg  string
	}{
		{"nosuch", 400, `no job "nosuch" of tenant default`},
		{"bad", 409, `job "bad" failed: this job would never start`},
		{"svc", 400, `"svc" is a deployment: it runs until stopped, which ends it cancelled, not succeeded, so afterok would not be met; to start once it ends, write "afterany:svc"`},
		{"x", 400, "a job cannot depend on itself"},
	} {
		var p api.Problem
		code := e.do("POST", "/v1/jobs", spec(1, 1, "id", "x", "depends_on", c.deps), &p)
		got := p.Detail
		for _, fe := range p.Errors {
			got += "; " + fe.Field + ": " + fe.Message
		}
		if code != c.code || !strings.Contains(got, c.msg) || !strings.Contains(got, "depends_on") {
			t.Errorf("depends_on %v: %d %q; want %d naming depends_on: %s", c.deps, code, got, c.code, c.msg)
		}
	}
}

// A held job stays held across a restart, and one whose dependency
// succeeded before the restart starts after it.
func TestDependsOnAcrossRestart(t *testing.T) {
	e := devEnv(t)
	a := e.submit(spec(1, 1, "id", "a"))
	b := e.submit(spec(1, 1, "id", "b", "depends_on", "a"))
	e.pass()
	e = e.restart(true)
	e.report("n1", running(a, 0, 1))
	e.pass()
	if j := e.job(b); j.State != api.StatePending || j.Reason == nil || j.Reason.Code != string(model.ReasonDependency) {
		t.Fatalf("after a restart, b is %s (%+v); want held for a", j.State, j.Reason)
	}
	e.report("n1", exited(a, 0, 1, 0))
	e.pass()
	e.s.mu.Lock()
	_, inMemory := e.s.jobs[a]
	e.s.mu.Unlock()
	if inMemory {
		t.Fatalf("a, succeeded and saved, is still in memory")
	}
	c := e.submit(spec(1, 1, "id", "c", "depends_on", "a")) // a succeeded, only in the store
	e = e.restart(true)
	e.pass()
	for _, id := range []string{b, c} {
		if j := e.job(id); j.State != api.StateRunning {
			t.Errorf("%s after a restart, its dependency succeeded: %s (%s); want running", id, j.State, j.Message)
		}
	}
}

// A dependency that fails between a submission's check and the job's
// adoption (in memory, queued) still cancels the job: it was checked
// running, and is forgotten by the time the job is adopted.
func TestDependsOnFailsDuringSubmission(t *testing.T) {
	e := devEnv(t)
	a := e.submit(spec(1, 1, "id", "a"))
	e.pass()
	e.s.afterDepCheck = func() {
		e.report("n1", exited(a, 0, 1, 1))
		e.pass()
	}
	b := e.submit(spec(1, 1, "id", "b", "depends_on", "a"))
	e.s.afterDepCheck = nil
	e.pass()
	if j := e.job(b); j.State != api.StateCancelled || j.Message != "dependency a failed" {
		t.Errorf("b, whose dependency failed while it was submitted: %s %q; want cancelled: dependency a failed", j.State, j.Message)
	}
}
