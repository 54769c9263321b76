package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/store"
)

// A facility file changed between two starts in what decides who gets
// the GPUs — a tenant's quota, fair-share weight or priority classes, a
// cohort, a priority class, the scheduling policy — is recorded at the
// start as facility events of server:config, a tenant's own change as an
// event of that tenant (it reads it in its audit entries); a start with
// the same terms records nothing.
func TestQuotaAndPolicyChangesAreAudited(t *testing.T) {
	terms := func(nominal int, weight float64, preemption bool) *model.Facility {
		f := DevFacility("local", "FR")
		f.Tenants = append(f.Tenants, model.Tenant{Name: "acme", FairShareWeight: weight,
			Quota: map[string]model.Quota{"H100": {Nominal: nominal}}})
		f.Policy.Quotas = true
		f.Policy.Preemption = preemption
		return f
	}
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			open := kind.make(t).open
			clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
			st := open()
			auditServer(t, st, terms(8, 1, true), nil, clk)
			st.Close()
			st = open()
			e := auditServer(t, st, terms(8, 1, true), nil, clk)
			if evs := termEvents(t, e); len(evs) != 0 {
				t.Fatalf("a start with the same terms recorded %+v", evs)
			}
			st.Close()

			st = open()
			e = auditServer(t, st, terms(4, 2, false), nil, clk)
			evs := termEvents(t, e)
			var acme, policy []string
			for _, ev := range evs {
				if ev.Actor != actorConfig {
					t.Errorf("actor %q, want %s: %s", ev.Actor, actorConfig, ev.Message)
				}
				switch ev.Tenant {
				case "acme":
					acme = append(acme, ev.Message)
				case "":
					policy = append(policy, ev.Message)
				default:
					t.Errorf("an event of tenant %s: %s", ev.Tenant, ev.Message)
				}
			}
			if len(acme) != 1 || !strings.Contains(acme[0], "tenant acme") || !strings.Contains(acme[0], "quota") ||
				!strings.Contains(acme[0], "fair-share weight from 1 to 2") {
				t.Errorf("acme's events: %q, want one naming its quota and weight", acme)
			}
			if len(policy) != 1 || !strings.Contains(policy[0], "Preemption from true to false") {
				t.Errorf("the policy's events: %q, want one naming Preemption", policy)
			}
		})
	}
}

// termEvents are the facility events with no job: changes of the terms.
func termEvents(t *testing.T, e *env) []api.Event {
	t.Helper()
	evs, err := e.s.store.Events(context.Background(), store.EventFilter{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	var out []api.Event
	for _, ev := range evs {
		if ev.Type == api.EventFacility && ev.Job == "" {
			out = append(out, ev)
		}
	}
	return out
}

// The server's own settings that decide when a tenant's work is counted
// lost or killed (heartbeat timeout, stop after disconnect, kill timeout)
// or where nodes may join (dynamic nodes) are terms too: a start with
// another value records it as a facility event of no tenant.
func TestServerSettingsChangesAreAudited(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			open := kind.make(t).open
			clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
			start := func(timeout time.Duration) *env {
				st := open()
				s, err := New(context.Background(), Config{Facility: DevFacility("local", "FR"), DynamicNodes: true, Store: st, Now: clk.now,
					HeartbeatTimeout: timeout, TokenKey: testTokenKey})
				if err != nil {
					t.Fatal(err)
				}
				return envOf(t, s, t.TempDir(), clk)
			}
			e := start(10 * time.Second)
			e.s.store.Close()
			e = start(10 * time.Second)
			if evs := termEvents(t, e); len(evs) != 0 {
				t.Fatalf("a start with the same settings recorded %+v", evs)
			}
			e.s.store.Close()
			e = start(time.Minute)
			evs := termEvents(t, e)
			if len(evs) != 1 || evs[0].Tenant != "" || !strings.Contains(evs[0].Message, `heartbeat timeout from "10s" to "1m0s"`) {
				t.Fatalf("after the heartbeat timeout changed: %+v, want one event naming it", evs)
			}
		})
	}
}
