package server

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// A tenant reading /v1/events page by page gets its own events, a full
// page at a time: the facility's and other tenants' events in between
// neither fill its pages nor stop its reader early (an empty page says
// that there is nothing more).
func TestEventsPagesOfATenantSkipOthers(t *testing.T) {
	e := secEnv(t)
	mem := withBearer(tokenFor(t, e.s, "member", "a"))
	a1 := e.submit(jobOf("a"))
	for range 3 {
		e.submit(jobOf("b"))
	}
	a2 := e.submit(jobOf("a"))
	var jobs []string
	for seq := int64(0); ; {
		var page api.EventList
		path := fmt.Sprintf("/v1/events?after=%d&limit=2", seq)
		if code, b := e.doWith(mem, "GET", path, nil, &page); code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, code, b)
		}
		if len(page.Events) == 0 {
			break
		}
		for _, ev := range page.Events {
			if ev.Tenant != "a" {
				t.Fatalf("%s shows a member of a %+v", path, ev)
			}
			jobs = append(jobs, ev.Job)
			seq = ev.Seq
		}
	}
	if !slices.Contains(jobs, a1) || !slices.Contains(jobs, a2) {
		t.Errorf("a's events read page by page are of jobs %v; want a's %s and %s", jobs, a1, a2)
	}
}
