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
