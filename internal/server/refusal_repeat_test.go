package server

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// The agent of a node the facility no longer admits (removed from the
// file) retries its registration every few seconds for as long as it
// runs. Its refusal is recorded once, and again only when its reason
// changes or an hour later, not at every retry: 8,640 identical events a
// day would bury the rest of the event and audit logs. Each retry is
// still refused.
func TestRepeatedRefusalRecordedOnce(t *testing.T) {
	e := newEnv(t, listedFacility(), false)
	count := func() int {
		return len(e.nodeEvents("x9", "refused"))
	}
	for range 5 {
		if code := e.register("x9", "a", 8); code != http.StatusForbidden {
			t.Fatalf("unlisted node: %d", code)
		}
		e.clock.add(10 * time.Second)
	}
	if n := count(); n != 1 {
		t.Errorf("%d refusal events of x9 after 5 refused registrations; want 1", n)
	}
	if code := e.register("x9", "nowhere", 8); code != http.StatusForbidden {
		t.Fatalf("unknown site: %d", code)
	}
	if evs := e.nodeEvents("x9", "refused"); len(evs) != 2 || !strings.Contains(evs[1].Message, "nowhere") {
		t.Errorf("refusal events %+v; want a second one for the new reason", evs)
	}
	e.clock.add(time.Hour)
	if code := e.register("x9", "nowhere", 8); code != http.StatusForbidden {
		t.Fatalf("unknown site: %d", code)
	}
	if n := count(); n != 3 {
		t.Errorf("%d refusal events of x9 an hour later; want 3", n)
	}
}
