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

// What else a pending job needs of the facility file goes the same way:
// a priority class removed, or no longer allowed for the job's tenant, a
// data class removed. The job could never start; it is cancelled at the
// next start, naming what is gone, instead of waiting for ever as
// invalid. A job whose references all hold waits on.
func TestPendingJobsTheFacilityNoLongerAllowsEnd(t *testing.T) {
	fac := func(changed bool) *model.Facility {
		f := withTenant(true)
		f.DataClasses = map[string][]string{"health": {"FR"}, "open": {"EU"}}
		if changed {
			f.PriorityClasses = slices.DeleteFunc(slices.Clone(f.PriorityClasses), func(c model.PriorityClass) bool { return c.Name == "low" })
			f.Tenants[1].PriorityClasses = []string{"normal"}
			f.DataClasses = map[string][]string{"open": {"EU"}}
		}
		return f
	}
	e := newEnv(t, fac(false), true)
	if code := e.register("n1", "local", 8); code != 200 {
		t.Fatalf("register n1: %d", code)
	}
	if code := e.do("POST", "/v1/nodes/n1/drain", nil, nil); code != 200 {
		t.Fatalf("drain n1: %d", code)
	}
	low := e.submit(spec(1, 1, "priority_class", "low"))
	high := e.submit(spec(1, 1, "tenant", "acme", "priority_class", "high"))
	health := e.submit(spec(1, 1, "data_class", "health"))
	open := e.submit(spec(1, 1, "data_class", "open", "tenant", "acme"))
	e.pass()
	e.s.store.Close()

	e = openEnv(t, e.dir, fac(true), true, e.clock)
	for id, what := range map[string]string{low: `priority class "low"`, high: `priority class "high"`, health: `data class "health"`} {
		if j := e.job(id); j.State != api.StateCancelled || !strings.Contains(j.Message, what) {
			t.Errorf("pending job of %s: %s %q; want cancelled naming it", what, j.State, j.Message)
		}
	}
	if j := e.job(open); j.State != api.StatePending {
		t.Errorf("pending job the facility still allows: %s %q; want pending", j.State, j.Message)
	}
}

// A tenant made exclusive (never sharing a node) in the facility file
// while its work shares a node with another tenant's: the sharing runs on
// (the scheduler stops nothing for it, and places nothing new of another
// tenant there), and the start records it on the exclusive tenant's job,
// naming no other tenant, as it records work found outside its
// jurisdictions.
func TestNodeSharedAcrossTenantsMadeExclusiveIsFlagged(t *testing.T) {
	fac := func(excl bool) *model.Facility {
		f := twoSitesAB()
		if excl {
			f.Tenants[1].Exclusive = model.ExclusiveNode // a
		}
		return f
	}
	e := newEnv(t, fac(false), true)
	if code := e.register("n1", "x", 8); code != 200 {
		t.Fatalf("register n1: %d", code)
	}
	a := e.submit(spec(4, 1, "tenant", "a"))
	b := e.submit(spec(4, 1, "tenant", "b"))
	e.pass()
	if ja, jb := e.job(a), e.job(b); ja.State != api.StateRunning || jb.State != api.StateRunning {
		t.Fatalf("a %s, b %s; want both running on n1", ja.State, jb.State)
	}
	e.s.store.Close()

	e = openEnv(t, e.dir, fac(true), true, e.clock)
	evs := e.eventsOf(a, api.EventFacility)
	if len(evs) != 1 || !strings.Contains(evs[0], "n1") || strings.Contains(evs[0], `"b"`) || strings.Contains(evs[0], "tenant b") {
		t.Errorf("facility events of a's job %q; want one naming n1 and not tenant b", evs)
	}
	if evs := e.eventsOf(b, api.EventFacility); len(evs) != 0 {
		t.Errorf("facility events of b's job %q; want none", evs)
	}
	if j := e.job(a); j.State != api.StateRunning {
		t.Errorf("a's job %s; want it running on", j.State)
	}
}

// The sovereignty event of a start that finds a tenant removed says the
// tenant was removed, not that its jurisdictions were (which reads as a
// tenant now allowed anywhere).
func TestRemovedTenantsSovereigntyEventSaysRemoved(t *testing.T) {
	fac := func(acme bool) *model.Facility {
		f := withTenant(acme)
		if acme {
			f.Tenants[1].Jurisdictions = []string{"FR"}
		}
		return f
	}
	e := newEnv(t, fac(true), true)
	e.s.store.Close()
	e = openEnv(t, e.dir, fac(false), true, e.clock)
	var l api.EventList
	if code := e.do("GET", "/v1/events", nil, &l); code != 200 {
		t.Fatalf("events: %d", code)
	}
	var msgs []string
	for _, ev := range l.Events {
		if ev.Type == api.EventSovereignty {
			msgs = append(msgs, ev.Message)
		}
	}
	if len(msgs) != 1 || !strings.Contains(msgs[0], "tenant acme removed") || strings.Contains(msgs[0], "jurisdictions removed") {
		t.Errorf("sovereignty events %q; want one saying tenant acme was removed", msgs)
	}
}
