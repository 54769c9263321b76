package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// renewalEvents are node m1's events that record a renewal.
func (e *env) renewalEvents() []api.Event {
	e.t.Helper()
	var evs api.EventList
	if code := e.do("GET", "/v1/events", nil, &evs); code != http.StatusOK {
		e.t.Fatalf("events: %d", code)
	}
	var out []api.Event
	for _, ev := range evs.Events {
		if ev.Node == "m1" && strings.Contains(ev.Message, "renewed its certificate") {
			out = append(out, ev)
		}
	}
	return out
}

// A certificate renewed again before the certificate its first renewal
// issued was presented (a renewal retried after its answer was lost, or
// a second holder of the node's key) is issued, and the certificate of
// the first renewal is refused from then, saying so: that it was
// renewed again, not that an enrollment replaced it. So is every
// certificate of the node's renewals once refused, after a restart too:
// none of them is said to be replaced by an enrollment.
func TestRenewedAgainBeforeTheRenewalWasUsed(t *testing.T) {
	f := newFixture(t)
	e := f.e
	code, out, first := e.enroll(withBearer(f.join["x"]), "m1")
	if code != http.StatusOK {
		t.Fatalf("enrollment of m1: %d %s", code, out)
	}
	code, out, second := e.enroll(first, "m1")
	if code != http.StatusOK {
		t.Fatalf("m1 renewing: %d %s", code, out)
	}
	e.clock.add(time.Minute)
	code, out, third := e.enroll(first, "m1") // the first renewal's answer taken for lost
	if code != http.StatusOK {
		t.Fatalf("m1 renewing again with the certificate it renewed, the renewal's certificate not used: %d %s", code, out)
	}
	s1, s2 := serialOf(t, first), serialOf(t, second)
	evs := e.renewalEvents()
	if len(evs) != 2 || !strings.Contains(evs[1].Message, "again") || !strings.Contains(evs[1].Message, s1) || !strings.Contains(evs[1].Message, s2) {
		t.Errorf("events of m1's renewals: %+v; want 2, the second saying it renewed again with serial %s, and that serial %s is refused", evs, s1, s2)
	}
	unused := func(when string) {
		t.Helper()
		code, out := e.ping(second)
		if code != http.StatusUnauthorized || !strings.Contains(out, "renewed again") || !strings.Contains(out, s2) || strings.Contains(out, "enrollment at") {
			t.Errorf("m1 with the certificate of the renewal done again before it was used, %s: %d %s; want 401 saying its predecessor was renewed again", when, code, out)
		}
	}
	unused("the new one not used yet")
	if code, out := e.ping(first); code == http.StatusUnauthorized {
		t.Fatalf("m1 with the certificate it renewed with, the new one not used yet: %d %s; want it accepted", code, out)
	}
	if code, out := e.ping(third); code == http.StatusUnauthorized {
		t.Fatalf("m1 with its renewed certificate: %d %s", code, out)
	}
	unused("the new one in use")
	code, out, fourth := e.enroll(third, "m1")
	if code != http.StatusOK {
		t.Fatalf("m1 renewing its renewed certificate: %d %s", code, out)
	}
	if code, out := e.ping(fourth); code == http.StatusUnauthorized {
		t.Fatalf("m1 with its certificate renewed twice: %d %s", code, out)
	}
	renewed := func(when string) {
		t.Helper()
		for _, c := range []struct {
			name string
			cred func(*http.Request) *http.Request
		}{{"first", first}, {"third", third}} {
			code, out := e.ping(c.cred)
			if code != http.StatusUnauthorized || !strings.Contains(out, "was renewed") || strings.Contains(out, "enrollment at") {
				t.Errorf("m1 with its %s certificate, renewed since, %s: %d %s; want 401 saying it was renewed", c.name, when, code, out)
			}
		}
		unused(when)
	}
	renewed("its last renewal in use")
	e.s.store.Close()
	e = openEnvQuiet(t, e.dir, e.s.cfg.Facility, e.s.cfg.DynamicNodes, e.clock, func(c *Config) { c.CA = testCA(t) })
	renewed("after a restart")
	if code, out := e.ping(fourth); code == http.StatusUnauthorized {
		t.Errorf("m1 with its last certificate after a restart: %d %s", code, out)
	}
}
