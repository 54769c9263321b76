package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// A data class says where a job's data may live; a facility file that
// defines none says nowhere, not anywhere. Removing every data class
// fails closed, as removing one of several does: at the next start the
// pending job that named one is cancelled naming its class, the running
// one runs on with a facility event and is not queued again, and a new
// submission naming a class is refused.
func TestEveryDataClassRemovedFailsClosed(t *testing.T) {
	fac := func(classes bool) *model.Facility {
		f := DevFacility("local", "FR")
		if classes {
			f.DataClasses = map[string][]string{"health": {"FR"}}
		}
		return f
	}
	e := newEnv(t, fac(true), true)
	if code := e.register("n1", "local", 8); code != 200 {
		t.Fatalf("register n1: %d", code)
	}
	run := e.submit(spec(8, 1, "data_class", "health", "restart", "on-failure", "max_retries", 3))
	e.pass()
	wait := e.submit(spec(8, 1, "data_class", "health"))
	e.pass()
	if j := e.job(run); j.State != api.StateRunning {
		t.Fatalf("first health job %s %q; want running", j.State, j.Message)
	}
	e.report("n1", running(run, 0, 1))
	e.s.store.Close()

	e = openEnv(t, e.dir, fac(false), true, e.clock)
	if j := e.job(wait); j.State != api.StateCancelled || !strings.Contains(j.Message, `data class "health"`) {
		t.Errorf("pending health job once no data class is defined: %s %q; want cancelled naming its class", j.State, j.Message)
	}
	if evs := e.eventsOf(run, api.EventFacility); len(evs) != 1 || !strings.Contains(evs[0], `data class "health"`) {
		t.Errorf("running health job's facility events %q; want one naming its class", evs)
	}
	e.pass()
	e.report("n1", exited(run, 0, 1, 3))
	e.pass()
	if j := e.job(run); j.State != api.StateCancelled || !strings.Contains(j.Message, `data class "health"`) {
		t.Errorf("health job failed with retries left: %s %q; want cancelled naming its class, not queued again", j.State, j.Message)
	}

	var p api.Problem
	if code := e.do("POST", "/v1/jobs", spec(1, 1, "data_class", "health"), &p); code != http.StatusBadRequest ||
		len(p.Errors) != 1 || p.Errors[0].Field != "data_class" || !strings.Contains(p.Errors[0].Message, "no data class") {
		t.Errorf("submission naming a data class the facility does not define: %d %+v; want 400 on data_class saying the facility has none", code, p)
	}
}

// A running deployment whose data class the facility no longer defines
// (here: it defines none) runs on and is not queued again: it gets no
// replacement for a replica that ends, where a class that no longer
// says where its data may live would let the core place it anywhere.
// Before, the core took its class as a free label and placed the
// replacement in a site the class had never allowed.
func TestDeploymentOfARemovedDataClassGetsNoReplacement(t *testing.T) {
	fac := func(classes bool) *model.Facility {
		f := twoSites()
		if classes {
			f.DataClasses = map[string][]string{"health": {"FR"}}
		}
		return f
	}
	e := newEnv(t, fac(true), true)
	if code := e.register("n1", "fr", 8); code != 200 {
		t.Fatalf("register n1: %d", code)
	}
	if code := e.register("n2", "de", 8); code != 200 {
		t.Fatalf("register n2: %d", code)
	}
	var d api.Job
	if code := e.do("POST", "/v1/deployments", spec(4, 2, "data_class", "health"), &d); code != http.StatusCreated {
		t.Fatalf("submit deployment: %d", code)
	}
	e.pass()
	for _, r := range e.job(d.ID).Replicas {
		if r.Node != "n1" {
			t.Fatalf("health replica %d on %s; want n1 (fr)", r.Index, r.Node)
		}
	}
	e.report("n1", running(d.ID, 0, 1), running(d.ID, 1, 1))
	e.s.store.Close()

	e = openEnv(t, e.dir, fac(false), true, e.clock)
	if code := e.do("POST", "/v1/nodes/n1/drain", nil, nil); code != 200 {
		t.Fatalf("drain n1: %d", code)
	}
	e.report("n1", running(d.ID, 0, 1), exited(d.ID, 1, 1, 0))
	e.pass()
	e.pass()
	j := e.job(d.ID)
	for _, r := range j.Replicas {
		if r.Node == "n2" {
			t.Errorf("replica %d of the deployment whose data class is gone placed on n2 (de): %+v", r.Index, j.Replicas)
		}
	}
	if j.State != api.StateRunning {
		t.Errorf("deployment %s %q; want running on with its replica left", j.State, j.Message)
	}
}
