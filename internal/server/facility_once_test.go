package server

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// A facility event records a change of the facility file that concerns
// a running job once, not at every start while the job runs: a start
// with the same file adds none, and a change made again after it was
// undone is recorded again.
func TestFacilityEventsOncePerChange(t *testing.T) {
	fac := func(acme, excl bool) *model.Facility {
		f := withTenant(acme)
		if excl {
			f.Tenants[0].Exclusive = model.ExclusiveNode // default
		}
		return f
	}
	e := newEnv(t, fac(true, false), true)
	if code := e.register("n1", "local", 8); code != 200 {
		t.Fatalf("register n1: %d", code)
	}
	orphan := e.submit(spec(4, 1, "tenant", "acme"))
	shared := e.submit(spec(4, 1))
	e.pass()
	e.report("n1", running(orphan, 0, 1), running(shared, 0, 1))
	want := func(when string, orphanEvs, sharedEvs int) {
		t.Helper()
		if evs := e.eventsOf(orphan, api.EventFacility); len(evs) != orphanEvs {
			t.Errorf("%s: facility events of acme's job %q; want %d", when, evs, orphanEvs)
		}
		if evs := e.eventsOf(shared, api.EventFacility); len(evs) != sharedEvs {
			t.Errorf("%s: facility events of the exclusive tenant's job %q; want %d", when, evs, sharedEvs)
		}
	}
	restart := func(acme, excl bool) {
		e.s.store.Close()
		e = openEnv(t, e.dir, fac(acme, excl), true, e.clock)
		e.report("n1", running(orphan, 0, 1), running(shared, 0, 1))
	}
	restart(false, true)
	want("acme removed, default made exclusive", 1, 1)
	restart(false, true)
	restart(false, true)
	want("two more starts with the same file", 1, 1)
	restart(true, false)
	want("both undone", 1, 1)
	restart(false, true)
	want("both done again", 2, 2)
}

// Under outside_jurisdiction: flag, a running job a narrowed policy
// leaves outside its allowed sites gets one sovereignty event per
// change of the policy, not one at every start while it runs: a start
// with the same file adds none, and the narrowing undone and made again
// is recorded again.
func TestSovereigntyFlagsOncePerChange(t *testing.T) {
	fac := func(narrow bool) *model.Facility {
		f := DevFacility("local", "FR")
		if narrow {
			f.Tenants[0].Jurisdictions = []string{"DE"}
		}
		return f
	}
	e := newEnv(t, fac(false), true)
	if code := e.register("n1", "local", 8); code != 200 {
		t.Fatalf("register n1: %d", code)
	}
	id := e.submit(spec(2, 1))
	e.pass()
	e.report("n1", running(id, 0, 1))
	restart := func(narrow bool) {
		e.s.store.Close()
		e = openEnv(t, e.dir, fac(narrow), true, e.clock)
		e.report("n1", running(id, 0, 1))
	}
	want := func(when string, n int) {
		t.Helper()
		if evs := e.eventsOf(id, api.EventSovereignty); len(evs) != n {
			t.Errorf("%s: sovereignty events %q; want %d", when, evs, n)
		}
	}
	restart(true)
	want("tenant narrowed to DE", 1)
	restart(true)
	restart(true)
	want("two more starts with the same file", 1)
	restart(false)
	want("narrowing undone", 1)
	restart(true)
	want("narrowed again", 2)
}

// What a start does because of the facility file is of actor
// server:config in the audit log (docs/operations.md), the sovereignty
// event of a job it stops under outside_jurisdiction: requeue too.
func TestSovereigntyRequeueIsOfTheConfig(t *testing.T) {
	e := newEnv(t, twoSites(), true)
	if code := e.register("n2", "de", 8); code != 200 {
		t.Fatalf("register n2: %d", code)
	}
	id := e.submit(spec(8, 1))
	e.pass()
	e.report("n2", running(id, 0, 1))
	e.s.store.Close()
	fac := twoSites()
	fac.Tenants[0].Jurisdictions = []string{"FR"}
	fac.Policy.Outside = model.OutsideRequeue
	e = openEnv(t, e.dir, fac, true, e.clock)
	var evs api.EventList
	e.do("GET", "/v1/jobs/"+id+"/events", nil, &evs)
	n := 0
	for _, ev := range evs.Events {
		if ev.Type == api.EventSovereignty {
			n++
			if ev.Actor != actorConfig {
				t.Errorf("sovereignty event %q of actor %q; want %s", ev.Message, ev.Actor, actorConfig)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d sovereignty events; want 1", n)
	}
}
