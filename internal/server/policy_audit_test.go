package server

import (
	"slices"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// TestPolicyChangesAreAudited: where work may run is the facility file's
// to say, and a server started with a file that changed it (a tenant
// allowed more, a site's tags changed) records each change in the audit
// log: the tenant's own in its entries. A file widened for a while and
// narrowed back leaves its trace. A start with the same policy records
// nothing.
func TestPolicyChangesAreAudited(t *testing.T) {
	fac := func(tenant, de []string) func() *model.Facility {
		return func() *model.Facility {
			f := twoSites()
			f.Tenants[0].Jurisdictions = tenant
			f.Sites[1].Jurisdictions = de
			return f
		}
	}
	narrow, wide := fac([]string{"FR"}, []string{"EU", "DE"}), fac([]string{"FR", "US"}, []string{"DE"})
	e := newEnv(t, narrow(), true)
	e.s.store.Close()
	e = openEnv(t, e.dir, wide(), true, e.clock)
	e.s.store.Close()
	e = openEnv(t, e.dir, narrow(), true, e.clock)
	e.s.store.Close()
	e = openEnv(t, e.dir, fac([]string{"FR"}, []string{"DE", "EU"})(), true, e.clock) // the same tags: no change
	sovereignty := func(evs []api.Event) []string {
		var out []string
		for _, ev := range evs {
			if ev.Type == api.EventSovereignty {
				if ev.Actor != "server:config" {
					t.Errorf("policy event %q of actor %q, want server:config", ev.Message, ev.Actor)
				}
				out = append(out, ev.Tenant+"|"+strings.TrimPrefix(ev.Message, "the facility's sovereignty policy changed: "))
			}
		}
		return out
	}
	var all api.EventList
	e.do("GET", "/v1/events", nil, &all)
	want := []string{
		"default|tenant default's jurisdictions changed from [FR] to [FR US]",
		"|site de's jurisdictions changed from [EU DE] to [DE]",
		"default|tenant default's jurisdictions changed from [FR US] to [FR]",
		"|site de's jurisdictions changed from [DE] to [EU DE]",
	}
	if got := sovereignty(all.Events); !slices.Equal(got, want) {
		t.Errorf("policy events:\n got %q\nwant %q", got, want)
	}
	var mine api.EventList
	member := tokenFor(t, e.s, "member", "default")
	e.doWith(withBearer(member), "GET", "/v1/events", nil, &mine)
	if got := sovereignty(mine.Events); len(got) != 2 || !strings.HasPrefix(got[0], "default|tenant default's") {
		t.Errorf("the tenant's own policy events: %q, want its two jurisdiction changes", got)
	}
}
