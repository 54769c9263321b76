package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// finishedBy is who the audit log says ended job: the actor of its
// finished event, and the event's message.
func (e *env) finishedBy(job string) (actor, msg string) {
	e.t.Helper()
	var evs api.EventList
	if code := e.do("GET", "/v1/jobs/"+job+"/events", nil, &evs); code != 200 {
		e.t.Fatalf("events of %s: %d", job, code)
	}
	for _, ev := range evs.Events {
		if ev.Type == api.EventFinished {
			return ev.Actor, ev.Message
		}
	}
	return "", ""
}

// A job cancelled because its dependency did not succeed is cancelled by
// the control plane's rule, whoever ended the dependency: its finished
// event, in the audit log, has the actor server:depends_on, whether the
// dependency was cancelled by a user, failed in a node's report, or
// failed while the job was submitted (the pass cancels it). The
// dependency's own end keeps its actor.
func TestDependsOnCascadeActor(t *testing.T) {
	e := devEnv(t)
	a := e.submit(spec(1, 1, "id", "a"))
	b := e.submit(spec(1, 1, "id", "b", "depends_on", "a"))
	if code := e.do("POST", "/v1/jobs/"+a+"/cancel", nil, nil); code != http.StatusOK {
		t.Fatalf("cancel a: %d", code)
	}
	f := e.submit(spec(1, 1, "id", "f"))
	g := e.submit(spec(1, 1, "id", "g", "depends_on", "f"))
	e.pass()
	e.report("n1", exited(f, 0, 1, 1))
	h := e.submit(spec(1, 1, "id", "h"))
	e.pass()
	e.s.afterDepCheck = func() {
		e.report("n1", exited(h, 0, 1, 1))
		e.pass()
	}
	k := e.submit(spec(1, 1, "id", "k", "depends_on", "h"))
	e.s.afterDepCheck = nil
	e.pass()
	if actor, _ := e.finishedBy(a); !strings.HasPrefix(actor, "token:operator-admin/") {
		t.Errorf("a, cancelled by the operator: actor %q; want its token", actor)
	}
	for _, id := range []string{b, g, k} {
		if actor, msg := e.finishedBy(id); actor != actorDepends {
			t.Errorf("%s (%q): actor %q; want %s", id, msg, actor, actorDepends)
		}
	}
	if actor, _ := e.finishedBy(f); actor != "node:n1" {
		t.Errorf("f, failed in n1's report: actor %q; want node:n1", actor)
	}
}

// At a start that finds a tenant removed from the facility file, its
// pending job is cancelled by server:config, and a job of its that
// depends on it, cancelled with it, is not flagged as running on: the
// cascade's event was taken for the orphan's, and the dependent, ended,
// for a running one.
func TestDependsOnOrphanedAtRestart(t *testing.T) {
	e := newEnv(t, withTenant(true), true)
	if code := e.register("n1", "local", 8); code != 200 {
		t.Fatalf("register n1: %d", code)
	}
	a := e.submit(spec(1, 1, "id", "a", "tenant", "acme"))
	b := e.submit(spec(1, 1, "id", "b", "tenant", "acme", "depends_on", "a"))
	e.s.store.Close()
	e = openEnv(t, e.dir, withTenant(false), true, e.clock)
	if actor, msg := e.finishedBy(a); actor != actorConfig {
		t.Errorf("a, its tenant gone (%q): actor %q; want %s", msg, actor, actorConfig)
	}
	if j := e.job(b); j.State != api.StateCancelled {
		t.Errorf("b: %s %q; want cancelled", j.State, j.Message)
	}
	if evs := e.eventsOf(b, api.EventFacility); len(evs) > 0 {
		t.Errorf("b, cancelled, flagged: %q", evs)
	}
}

// A held job released by its last dependency's success says so in an
// event, in the commit of that success (so once, whichever leader
// reloads after): its events and the watch stream no longer go from
// submitted to started hours later without a word.
func TestDependsOnReleaseEvent(t *testing.T) {
	e := devEnv(t)
	a := e.submit(spec(1, 1, "id", "a"))
	b := e.submit(spec(1, 1, "id", "b"))
	c := e.submit(spec(1, 1, "id", "c", "depends_on", []string{"a", "b"}))
	e.pass()
	e.report("n1", exited(a, 0, 1, 0), running(b, 0, 1))
	if evs := e.eventsOf(c, api.EventEligible); len(evs) != 0 {
		t.Fatalf("c, b still running: released %q", evs)
	}
	e.report("n1", exited(b, 0, 1, 0))
	e = e.restart(true)
	want := "queued: its dependencies succeeded (a, b)"
	if evs := e.eventsOf(c, api.EventEligible); len(evs) != 1 || evs[0] != want {
		t.Errorf("c's released events: %q; want one: %s", evs, want)
	}
	var evs api.EventList
	e.do("GET", "/v1/jobs/"+c+"/events", nil, &evs)
	for _, ev := range evs.Events {
		if ev.Type == api.EventEligible && ev.Actor != actorDepends {
			t.Errorf("released by %q; want %s", ev.Actor, actorDepends)
		}
	}
}

// A job held for its dependencies is out of the queue: carnot_queue_length
// does not count it (the documented alert, queue length without
// placements, would fire for hours while a pipeline's first step runs),
// carnot_held_jobs does.
func TestDependsOnMetrics(t *testing.T) {
	e := devEnv(t)
	a := e.submit(spec(1, 1, "id", "a"))
	e.submit(spec(1, 1, "id", "b", "depends_on", "a"))
	e.submit(spec(1, 1, "id", "c", "depends_on", "b"))
	e.pass()
	e.report("n1", running(a, 0, 1))
	body := e.scrape()
	for _, want := range []string{`carnot_queue_length{tenant="default"} 0`, `carnot_held_jobs{tenant="default"} 2`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
