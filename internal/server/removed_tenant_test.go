package server

import (
	"slices"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// withTenant is the dev facility with tenant "acme" besides "default".
func withTenant(acme bool) *model.Facility {
	fac := DevFacility("local", "FR")
	if acme {
		fac.Tenants = append(fac.Tenants, model.Tenant{Name: "acme", FairShareWeight: 1})
	}
	return fac
}

// A tenant removed from the facility file: at the next start its pending
// jobs end, cancelled with an event naming the tenant (they could never
// start), instead of waiting for ever as "invalid: unknown tenant"; its
// running jobs run on to their end, with an event saying their tenant is
// gone, and one that fails is not queued again by its restart policy.
func TestRemovedTenantsJobsEnd(t *testing.T) {
	e := newEnv(t, withTenant(true), true)
	if code := e.register("n1", "local", 8); code != 200 {
		t.Fatalf("register n1: %d", code)
	}
	run := e.submit(spec(4, 1, "tenant", "acme", "restart", "on-failure", "max_retries", 3))
	e.pass()
	wait := e.submit(spec(8, 1, "tenant", "acme"))
	mine := e.submit(spec(8, 1))
	e.pass()
	if j := e.job(run); j.State != api.StateRunning {
		t.Fatalf("acme's first job %s; want running", j.State)
	}
	e.report("n1", running(run, 0, 1))
	e.s.store.Close()

	e = openEnv(t, e.dir, withTenant(false), true, e.clock)
	j := e.job(wait)
	if j.State != api.StateCancelled || !strings.Contains(j.Message, `tenant "acme"`) {
		t.Errorf("pending job of removed tenant acme: %s %q; want cancelled naming the tenant", j.State, j.Message)
	}
	if evs := e.eventsOf(wait, api.EventFinished); len(evs) != 1 || !strings.Contains(evs[0], "acme") {
		t.Errorf("its finished events %q; want one naming acme", evs)
	}
	if j := e.job(mine); j.State != api.StatePending {
		t.Errorf("default's pending job: %s; want still pending", j.State)
	}
	if j := e.job(run); j.State != api.StateRunning {
		t.Errorf("running job of removed tenant acme: %s %q; want running on", j.State, j.Message)
	}
	if evs := e.eventsOf(run, api.EventFacility); len(evs) != 1 || !strings.Contains(evs[0], "acme") {
		t.Errorf("running job's tenant-gone events %q; want one naming acme", evs)
	}
	e.pass()
	e.report("n1", exited(run, 0, 1, 3))
	e.pass()
	if j := e.job(run); j.State != api.StateCancelled || !strings.Contains(j.Message, `tenant "acme"`) {
		t.Errorf("after it failed, with retries left: %s %q; want cancelled naming its tenant, not queued again", j.State, j.Message)
	}
	if evs := e.eventsOf(run, api.EventFinished); len(evs) != 1 {
		t.Errorf("its finished events %q; want one", evs)
	}
	e.pass()
	if j := e.job(mine); j.State != api.StateRunning {
		t.Errorf("default's job once acme's GPUs are free: %s %q; want running", j.State, j.Message)
	}

	// Another restart records nothing more of acme's jobs.
	e.s.store.Close()
	e = openEnv(t, e.dir, withTenant(false), true, e.clock)
	for _, id := range []string{wait, run} {
		if evs := e.eventsOf(id, api.EventFinished); len(evs) != 1 {
			t.Errorf("finished events of %s after a second restart: %q; want one", id, evs)
		}
	}
	var list api.JobList
	if code := e.do("GET", "/v1/jobs?state=pending", nil, &list); code != 200 {
		t.Fatalf("list pending: %d", code)
	}
	if i := slices.IndexFunc(list.Jobs, func(j api.Job) bool { return j.Tenant == "acme" }); i >= 0 {
		t.Errorf("pending job %s of acme %q; want none of acme", list.Jobs[i].ID, list.Jobs[i].Message)
	}
}
