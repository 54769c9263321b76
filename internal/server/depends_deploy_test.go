package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// A deployment runs until it is stopped, which cancels it: afterok on
// one is refused at submission (400 naming depends_on, saying to use
// afterany), running or ended, in memory or read from the store.
// afterany on one waits for its end (stopped, cancelled, failed), also
// across a restart, and afternotok too; on one already ended both are
// met at once.
func TestDependsOnDeployment(t *testing.T) {
	e := devEnv(t)
	deploy := func(id string) string {
		var j api.Job
		if code := e.do("POST", "/v1/deployments", spec(1, 1, "id", id), &j); code != http.StatusCreated {
			t.Fatalf("deployment %s: %d", id, code)
		}
		return j.ID
	}
	svc, old := deploy("svc"), deploy("old")
	e.pass()
	e.report("n1", running(svc, 0, 1), running(old, 0, 1))
	if code := e.do("POST", "/v1/jobs/"+old+"/cancel", nil, nil); code != http.StatusAccepted {
		t.Fatalf("cancel old: %d", code)
	}
	e.report("n1", running(svc, 0, 1), exited(old, 0, 1, 137))
	e.pass()
	e.wantState(old, api.StateCancelled, "")
	e.s.mu.Lock()
	gone := e.s.jobs[old] == nil
	e.s.mu.Unlock()
	if !gone {
		t.Fatalf("old, cancelled, still in memory: the test reads nothing from the store")
	}

	for _, deps := range []any{"svc", "afterok:svc", []string{"afterany:svc", "old"}} {
		var p api.Problem
		code := e.do("POST", "/v1/jobs", spec(1, 1, "id", "x", "depends_on", deps), &p)
		id := "svc"
		if _, ok := deps.([]string); ok {
			id = "old"
		}
		want := `"` + id + `" is a deployment: it runs until stopped, which ends it cancelled, not succeeded, so afterok would not be met; ` +
			`to start once it ends, write "afterany:` + id + `"`
		if code != http.StatusBadRequest || len(p.Errors) != 1 || p.Errors[0].Field != "depends_on" || p.Errors[0].Message != want {
			t.Errorf("depends_on %v: %d %+v; want 400 naming depends_on: %s", deps, code, p.Errors, want)
		}
	}

	after := e.submit(spec(1, 1, "id", "after", "depends_on", "afterany:svc"))
	notOK := e.submit(spec(1, 1, "id", "not-ok", "depends_on", []string{"afternotok:svc"}))
	met := e.submit(spec(1, 1, "id", "met", "depends_on", "afterany:old"))
	metNot := e.submit(spec(1, 1, "id", "met-not", "depends_on", "afternotok:old"))
	e.pass()
	e.wantHeld(after, "dependency: waits for svc (running) to end")
	e.wantHeld(notOK, "dependency: waits for svc (running) to fail or be cancelled")
	e.wantState(met, api.StateRunning, "")
	e.wantState(metNot, api.StateRunning, "")
	e = e.restart(true)
	e.wantHeld(after, "dependency: waits for svc (running) to end")
	if code := e.do("POST", "/v1/jobs/"+svc+"/cancel", nil, nil); code != http.StatusAccepted {
		t.Fatalf("cancel svc: %d", code)
	}
	e.report("n1", exited(svc, 0, 1, 137), running(met, 0, 1), running(metNot, 0, 1))
	e.wantState(svc, api.StateCancelled, "")
	e.pass()
	e.wantState(after, api.StateRunning, "")
	e.wantState(notOK, api.StateRunning, "")
	if evs := e.eventsOf(after, api.EventEligible); len(evs) != 1 || !strings.Contains(evs[0], "afterany:svc") {
		t.Errorf("after's eligible events %q; want one, its dependency on svc met", evs)
	}
}
