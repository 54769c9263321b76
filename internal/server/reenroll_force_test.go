package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// An allowance to enroll a node again given with force while its agent
// still reports overrides the check that keeps a join token's holder
// from taking a running node's name: the audit entry says it was forced
// and how the agent reported, so that it reads apart from an allowance
// for a silent machine.
func TestForcedReenrollOfALiveNodeIsAuditedAsForced(t *testing.T) {
	f := newFixture(t)
	e := f.e
	if code, out, _ := e.enroll(withBearer(f.join["x"]), "m1"); code != http.StatusOK {
		t.Fatalf("enrollment of m1: %d %s", code, out)
	}
	if code := e.register("m1", "x", 8); code != http.StatusOK {
		t.Fatalf("register m1: %d", code)
	}
	if code := e.do("POST", "/v1/nodes/m1/reenroll", nil, nil); code != http.StatusConflict {
		t.Fatalf("reenroll of m1 whose agent reports: %d; want 409", code)
	}
	if code := e.do("POST", "/v1/nodes/m1/reenroll?force=true", nil, nil); code != http.StatusOK {
		t.Fatalf("reenroll --force of m1: %d; want 200", code)
	}
	var evs api.EventList
	e.do("GET", "/v1/events", nil, &evs)
	var allowed []string
	for _, ev := range evs.Events {
		if ev.Node == "m1" && strings.Contains(ev.Message, "may enroll once more") {
			allowed = append(allowed, ev.Message)
		}
	}
	if len(allowed) != 1 || !strings.Contains(allowed[0], "forced") || !strings.Contains(allowed[0], "still reports (ready") {
		t.Fatalf("the allowance's events: %q; want one saying it was forced while the agent reported", allowed)
	}
}
