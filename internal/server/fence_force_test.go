package server

import (
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// A fence forced on a node whose agent reports and runs work overrides
// the check that keeps an operator from stopping work on a mistyped
// name: its audit entry says it was forced and how the agent reported;
// a fence that needed no force says nothing of it.
func TestForcedFenceIsAuditedAsForced(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(8, 1))
	e.pass()
	e.report("n1", running(id, 0, 1))
	if code := e.do("POST", "/v1/nodes/n1/fence?force=true", nil, nil); code != 200 {
		t.Fatalf("fence --force: %d", code)
	}
	if code := e.do("POST", "/v1/nodes/n1/unfence", nil, nil); code != 200 {
		t.Fatalf("unfence: %d", code)
	}
	e.report("n1")
	if code := e.do("POST", "/v1/nodes/n1/fence?force=true", nil, nil); code != 200 {
		t.Fatalf("fence of idle n1: %d", code)
	}
	var evs api.EventList
	e.do("GET", "/v1/events", nil, &evs)
	var fenced []string
	for _, ev := range evs.Events {
		if ev.Node == "n1" && strings.HasPrefix(ev.Message, "node n1 fenced") {
			fenced = append(fenced, ev.Message)
		}
	}
	if len(fenced) != 2 || !strings.Contains(fenced[0], "forced while its agent still reports (ready") || strings.Contains(fenced[1], "forced") {
		t.Fatalf("fence events: %q; want the first forced, the second not", fenced)
	}
}
