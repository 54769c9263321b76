package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// wantHeld fails t unless job is pending, held for its dependencies
// with the reason msg.
func (e *env) wantHeld(job, msg string) {
	e.t.Helper()
	if j := e.job(job); j.State != api.StatePending || j.Reason == nil || j.Reason.Code != string(model.ReasonDependency) || j.Reason.Message != msg {
		e.t.Errorf("%s: %s, reason %+v; want held: %s", job, j.State, j.Reason, msg)
	}
}

// wantState fails t unless job is in state with the message msg ("":
// any message).
func (e *env) wantState(job, state, msg string) {
	e.t.Helper()
	if j := e.job(job); j.State != state || msg != "" && j.Message != msg {
		e.t.Errorf("%s: %s %q; want %s %q", job, j.State, j.Message, state, msg)
	}
}

// afterany waits for its dependency to end however it ends: a cleanup
// step runs once the step before it failed, and once the one before it
// was cancelled; afterok beside it in the same list still needs its own
// dependency to succeed. The mapping form ({afterany: a}) is the string
// form ("afterany:a").
func TestDependsOnAfterAny(t *testing.T) {
	e := devEnv(t)
	a := e.submit(spec(1, 1, "id", "a"))
	b := e.submit(spec(1, 1, "id", "b"))
	x := e.submit(spec(1, 1, "id", "x"))
	clean := e.submit(spec(1, 1, "id", "clean", "depends_on", []string{"afterany:a"}))
	mixed := e.submit(spec(1, 1, "id", "mixed", "depends_on", []any{"b", map[string]string{"afterany": "a"}}))
	ok := e.submit(spec(1, 1, "id", "ok", "depends_on", "a"))
	cleanX := e.submit(spec(1, 1, "id", "clean-x", "depends_on", "afterany:x"))
	e.pass()
	e.wantHeld(clean, "dependency: waits for a (running) to end")
	e.wantHeld(mixed, "dependency: waits for b (running) to succeed and a (running) to end")
	if j := e.job(clean); !strings.Contains(string(j.Spec), `"depends_on":["afterany:a"]`) {
		t.Errorf("clean's spec %s; want depends_on [afterany:a]", j.Spec)
	}
	if j := e.job(mixed); !strings.Contains(string(j.Spec), `"depends_on":["b","afterany:a"]`) {
		t.Errorf("mixed's spec %s; want depends_on [b, afterany:a]", j.Spec)
	}
	e.report("n1", exited(a, 0, 1, 3), running(b, 0, 1), running(x, 0, 1))
	if evs := e.eventsOf(clean, api.EventEligible); len(evs) != 1 || evs[0] != "queued: its dependency is met (afterany:a)" {
		t.Errorf("clean's eligible events %q; want one, its dependency met", evs)
	}
	e.wantState(ok, api.StateCancelled, "dependency a failed")
	e.wantHeld(mixed, "dependency: waits for b (running) to succeed")
	if code := e.do("POST", "/v1/jobs/"+x+"/cancel", nil, nil); code != http.StatusAccepted {
		t.Fatalf("cancel x: %d", code)
	}
	e.report("n1", exited(b, 0, 1, 0), exited(x, 0, 1, 137))
	e.pass()
	e.wantState(clean, api.StateRunning, "")
	e.wantState(mixed, api.StateRunning, "")
	e.wantState(cleanX, api.StateRunning, "")
}

// afternotok runs only when its dependency failed or was cancelled (by a
// user, or by the control plane as its own dependency failed), and is
// cancelled when it succeeds, its own dependents with it.
func TestDependsOnAfterNotOK(t *testing.T) {
	e := devEnv(t)
	a := e.submit(spec(1, 1, "id", "a"))
	b := e.submit(spec(1, 1, "id", "b"))
	c := e.submit(spec(1, 1, "id", "c"))
	onA := e.submit(spec(1, 1, "id", "on-a", "depends_on", "afternotok:a"))
	onB := e.submit(spec(1, 1, "id", "on-b", "depends_on", []string{"afternotok:b"}))
	afterOnB := e.submit(spec(1, 1, "id", "after-on-b", "depends_on", "on-b"))
	onC := e.submit(spec(1, 1, "id", "on-c", "depends_on", "afternotok:c"))
	d := e.submit(spec(1, 1, "id", "d", "depends_on", "a")) // cancelled when a fails
	onD := e.submit(spec(1, 1, "id", "on-d", "depends_on", "afternotok:d"))
	e.pass()
	e.wantHeld(onA, "dependency: waits for a (running) to fail or be cancelled")
	e.report("n1", exited(a, 0, 1, 1), exited(b, 0, 1, 0), running(c, 0, 1))
	if code := e.do("POST", "/v1/jobs/"+c+"/cancel", nil, nil); code != http.StatusAccepted {
		t.Fatalf("cancel c: %d", code)
	}
	e.report("n1", exited(c, 0, 1, 137))
	e.wantState(onB, api.StateCancelled, "dependency b succeeded (afternotok: it runs only if b fails or is cancelled)")
	e.wantState(afterOnB, api.StateCancelled, "dependency on-b cancelled")
	e.wantState(d, api.StateCancelled, "dependency a failed")
	if actor, _ := e.finishedBy(onB); actor != actorDepends {
		t.Errorf("on-b's finished event: actor %q; want %s", actor, actorDepends)
	}
	e.pass()
	for _, id := range []string{onA, onC, onD} {
		e.wantState(id, api.StateRunning, "")
	}
}

// A submission's afternotok on a job that succeeded is refused, as
// afterok on one that failed is; afterany on a job that ended, however,
// and afternotok on one that failed, are met at once: not held. A type
// the loader does not know is refused naming the item.
func TestDependsOnKindsAtSubmission(t *testing.T) {
	e := devEnv(t)
	good := e.submit(spec(1, 1, "id", "good"))
	bad := e.submit(spec(1, 1, "id", "bad"))
	e.pass()
	e.report("n1", exited(good, 0, 1, 0), exited(bad, 0, 1, 1))
	e.pass()
	for _, c := range []struct {
		deps any
		code int
		msg  string
	}{
		{"afternotok:good", 409, `depends_on: job "good" succeeded: this job would never start (afternotok: it runs only if good fails or is cancelled)`},
		{"afterok:bad", 409, `depends_on: job "bad" failed: this job would never start`},
		{[]string{"good", "after:bad"}, 400, `depends_on[1]: unknown dependency type "after"`},
		{[]string{"good", "afterany:good"}, 400, `depends_on[1]: job "good" is listed twice`},
		{"afterany:svc:x", 400, `"afterany:svc:x" names several jobs: write one item per job, e.g. "afterany:svc"`},
	} {
		var p api.Problem
		code := e.do("POST", "/v1/jobs", spec(1, 1, "id", "x", "depends_on", c.deps), &p)
		got := p.Detail
		for _, fe := range p.Errors {
			got += "; " + fe.Field + ": " + fe.Message
		}
		if code != c.code || !strings.Contains(got, c.msg) {
			t.Errorf("depends_on %v: %d %q; want %d: %s", c.deps, code, got, c.code, c.msg)
		}
	}
	any := e.submit(spec(1, 1, "id", "any", "depends_on", []string{"afterany:good", "afternotok:bad"}))
	if j := e.job(any); j.State != api.StatePending || j.Reason != nil && j.Reason.Code == string(model.ReasonDependency) {
		t.Errorf("any, its dependencies met at its submission: %s %+v; want queued", j.State, j.Reason)
	}
	e.pass()
	e.wantState(any, api.StateRunning, "")
}

// The types survive a restart: jobs held for afterany and afternotok
// are held by the next server with the same reasons, and released or
// cancelled as their dependency ends. One adopted as its dependency
// succeeded, the server stopping before the pass that cancels it, is
// cancelled after the restart (afternotok), or queued (afterany).
func TestDependsOnKindsAcrossRestart(t *testing.T) {
	e := devEnv(t)
	a := e.submit(spec(1, 1, "id", "a"))
	anyA := e.submit(spec(1, 1, "id", "any-a", "depends_on", "afterany:a"))
	notA := e.submit(spec(1, 1, "id", "not-a", "depends_on", "afternotok:a"))
	h := e.submit(spec(1, 1, "id", "h"))
	e.pass()
	e.s.afterDepCheck = func() {
		e.report("n1", running(a, 0, 1), exited(h, 0, 1, 0))
		e.pass()
	}
	notH := e.submit(spec(1, 1, "id", "not-h", "depends_on", "afternotok:h"))
	e.s.afterDepCheck = nil
	anyH := e.submit(spec(1, 1, "id", "any-h", "depends_on", "afterany:h"))
	e = e.restart(true) // before the pass that cancels not-h
	e.wantHeld(anyA, "dependency: waits for a (running) to end")
	e.wantHeld(notA, "dependency: waits for a (running) to fail or be cancelled")
	e.pass()
	e.wantState(notH, api.StateCancelled, "dependency h succeeded (afternotok: it runs only if h fails or is cancelled)")
	e.wantState(anyH, api.StateRunning, "")
	e.report("n1", exited(a, 0, 1, 0))
	e.pass()
	e.wantState(anyA, api.StateRunning, "")
	e.wantState(notA, api.StateCancelled, "dependency a succeeded (afternotok: it runs only if a fails or is cancelled)")
}
