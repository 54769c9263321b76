package server

import (
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// Two replicas on PostgreSQL: the new leader holds and releases the
// jobs as the one before did. A job held when the leader fails is held
// by the next, released (once: one eligible event) when its dependency
// succeeds there, cancelled with its own dependents when one fails; and
// one adopted after its dependency failed, whose cancellation the first
// leader never committed, is cancelled by the next.
func TestDependsOnFailover(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	leader := pgLeaders(t, clk)
	e := leader()
	if code := e.register("n1", "local", 8); code != 200 {
		t.Fatalf("register: %d", code)
	}
	a := e.submit(spec(1, 1, "id", "a"))
	b := e.submit(spec(1, 1, "id", "b", "depends_on", "a"))
	c := e.submit(spec(1, 1, "id", "c", "depends_on", "b"))
	x := e.submit(spec(1, 1, "id", "x"))
	e.pass()
	e.report("n1", running(a, 0, 1), running(x, 0, 1))
	e.s.afterDepCheck = func() {
		e.report("n1", running(a, 0, 1), exited(x, 0, 1, 1))
		e.pass()
	}
	y := e.submit(spec(1, 1, "id", "y", "depends_on", "x"))
	e.s.afterDepCheck = nil
	e.s.Retire()

	e = leader()
	if j := e.job(y); j.State != api.StatePending {
		t.Fatalf("y at the new leader: %s", j.State)
	}
	e.pass()
	if j := e.job(y); j.State != api.StateCancelled || j.Message != "dependency x failed" {
		t.Errorf("y, its dependency failed before the failover: %s %q; want cancelled", j.State, j.Message)
	}
	for id, want := range map[string]string{b: "dependency: waits for a (running) to succeed", c: "dependency: waits for b (pending) to succeed"} {
		if j := e.job(id); j.State != api.StatePending || j.Reason == nil || j.Reason.Message != want {
			t.Errorf("%s at the new leader: %s %+v; want held: %s", id, j.State, j.Reason, want)
		}
	}
	e.report("n1", exited(a, 0, 1, 0))
	e.pass()
	if j := e.job(b); j.State != api.StateRunning {
		t.Fatalf("b once a succeeded at the new leader: %s %q", j.State, j.Message)
	}
	e.s.Retire()

	e = leader()
	if evs := e.eventsOf(b, api.EventEligible); len(evs) != 1 {
		t.Errorf("b's eligible events after two leaders: %q; want one", evs)
	}
	e.report("n1", exited(b, 0, 1, 2))
	e.pass()
	if j := e.job(c); j.State != api.StateCancelled || j.Message != "dependency b failed" {
		t.Errorf("c once b failed: %s %q", j.State, j.Message)
	}
}

// The dependency types survive a change of leader on PostgreSQL: the
// new leader holds afterany and afternotok jobs as the one before did,
// and queues or cancels them as their dependencies end.
func TestDependsOnKindsFailover(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	leader := pgLeaders(t, clk)
	e := leader()
	if code := e.register("n1", "local", 8); code != 200 {
		t.Fatalf("register: %d", code)
	}
	a := e.submit(spec(1, 1, "id", "a"))
	b := e.submit(spec(1, 1, "id", "b"))
	anyA := e.submit(spec(1, 1, "id", "any-a", "depends_on", "afterany:a"))
	notA := e.submit(spec(1, 1, "id", "not-a", "depends_on", "afternotok:a"))
	notB := e.submit(spec(1, 1, "id", "not-b", "depends_on", []string{"afternotok:b"}))
	e.pass()
	e.report("n1", running(a, 0, 1), running(b, 0, 1))
	e.s.Retire()

	e = leader()
	e.wantHeld(anyA, "dependency: waits for a (running) to end")
	e.wantHeld(notA, "dependency: waits for a (running) to fail or be cancelled")
	e.report("n1", exited(a, 0, 1, 1), exited(b, 0, 1, 0))
	e.pass()
	e.wantState(anyA, api.StateRunning, "")
	e.wantState(notA, api.StateRunning, "")
	e.wantState(notB, api.StateCancelled, "dependency b succeeded (afternotok: it runs only if b fails or is cancelled)")
	e.s.Retire()

	e = leader()
	for _, id := range []string{anyA, notA} {
		if evs := e.eventsOf(id, api.EventEligible); len(evs) != 1 {
			t.Errorf("%s's eligible events after two leaders: %q; want one", id, evs)
		}
	}
}
