package server

import (
	"context"
	"encoding/json"
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
			// The policy reads in the facility file's names
			// (docs/facility.md), not model.Policy's Go names.
			if len(policy) != 1 || !strings.Contains(policy[0], "preemption from true to false") ||
				strings.Contains(policy[0], "Preemption") {
				t.Errorf("the policy's events: %q, want one naming preemption as the facility file does", policy)
			}
		})
	}
}

// A change of the policy reads as the facility file writes it: names
// of docs/facility.md, durations as text, borrowing and reclaim_victims
// named at their defaults too (a change back to the default is a
// change). A record of the terms that an earlier Carnot kept with
// model.Policy's Go names is read as such: the change since is recorded
// in the file's names, and nothing that did not change reads as one.
func TestPolicyChangesReadAsTheFacilityFile(t *testing.T) {
	fac := func(minRun model.Duration, preemptibleOnly bool) *model.Facility {
		f := DevFacility("local", "FR")
		f.Policy.ReclaimMinRun = minRun
		f.Policy.BorrowPreemptibleOnly = preemptibleOnly
		return f
	}
	want := []string{`reclaim_min_run from "30m0s" to "1h0m0s"`, `borrowing from "preemptible" to "any"`}
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			open := kind.make(t).open
			clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
			st := open()
			auditServer(t, st, fac(30*model.Minute, true), nil, clk)
			st.Close()
			st = open()
			e := auditServer(t, st, fac(model.Hour, false), nil, clk)
			evs := termEvents(t, e)
			if len(evs) != 1 {
				t.Fatalf("events %+v, want one of the policy", evs)
			}
			for _, w := range want {
				if !strings.Contains(evs[0].Message, w) {
					t.Errorf("the policy's event %q does not say %s", evs[0].Message, w)
				}
			}

			// The record as an earlier Carnot kept it: the policy
			// under model.Policy's Go names, durations in seconds.
			ctx := context.Background()
			doc, err := e.s.store.Record(ctx, recPolicy, termsKey)
			if err != nil {
				t.Fatal(err)
			}
			var rec map[string]json.RawMessage
			if err := json.Unmarshal(doc, &rec); err != nil {
				t.Fatal(err)
			}
			old := fac(30*model.Minute, true).Policy
			if rec["policy"], err = json.Marshal(old); err != nil {
				t.Fatal(err)
			}
			if doc, err = json.Marshal(rec); err != nil {
				t.Fatal(err)
			}
			if err := e.s.store.PutRecords(ctx, []store.Record{{Kind: recPolicy, Key: termsKey, Doc: doc}}, nil); err != nil {
				t.Fatal(err)
			}
			st.Close()
			st = open()
			e = auditServer(t, st, fac(model.Hour, false), nil, clk)
			evs = termEvents(t, e)
			if len(evs) != 2 {
				t.Fatalf("after a record of Go names: events %+v, want the first and one more", evs)
			}
			got := evs[1].Message
			for _, w := range want {
				if !strings.Contains(got, w) {
					t.Errorf("after a record of Go names: %q does not say %s", got, w)
				}
			}
			if strings.Count(got, " from ") != len(want) {
				t.Errorf("after a record of Go names: %q, want only the %d changes", got, len(want))
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

// A tenant's fields at their "none" values read as the facility file
// means them, not as JSON: a tenant allowed every priority class (none
// listed) reads "any", one in no cohort "none" — never "null" or `""`,
// whether the tenant is added or one of its fields changes. Nor does a
// field given at its default read as a change (exclusive: gpu).
func TestTermsChangesReadAnyAndNone(t *testing.T) {
	terms := func(tenants ...model.Tenant) *model.Facility {
		f := DevFacility("local", "FR")
		f.Tenants = append(f.Tenants, tenants...)
		f.Cohorts = append(f.Cohorts, model.Cohort{Name: "research"})
		return f
	}
	acme := model.Tenant{Name: "acme", FairShareWeight: 1}
	limited := acme
	limited.PriorityClasses, limited.Cohort = []string{"normal"}, "research"
	explicit := acme
	explicit.Exclusive, explicit.PriorityClasses = model.ExclusiveGPU, []string{}
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	open := storeKinds[0].make(t).open
	seen := 0 // acme's events so far
	for i, step := range []struct {
		fac  *model.Facility
		want []string
	}{
		{terms(), nil},
		{terms(acme), []string{"tenant acme added (cohort none, ", "priority classes any"}},
		{terms(limited), []string{`cohort from none to "research"`, `priority classes from any to ["normal"]`}},
		{terms(acme), []string{`cohort from "research" to none`, `priority classes from ["normal"] to any`}},
		{terms(explicit), []string{}},
	} {
		st := open()
		e := auditServer(t, st, step.fac, nil, clk)
		var got []string
		for _, ev := range termEvents(t, e) {
			if ev.Tenant == "acme" {
				got = append(got, ev.Message)
			}
		}
		st.Close()
		if step.want == nil {
			continue
		}
		if len(step.want) == 0 && len(got) != seen {
			t.Errorf("start %d: a field given at its default read as a change: %q", i, got[seen:])
		}
		seen = len(got)
		last := ""
		if len(got) > 0 {
			last = got[len(got)-1]
		}
		for _, w := range step.want {
			if !strings.Contains(last, w) {
				t.Errorf("start %d: the event %q does not say %q", i, last, w)
			}
		}
		if strings.Contains(last, "null") || strings.Contains(last, `""`) {
			t.Errorf("start %d: the event %q says null or \"\"", i, last)
		}
	}
}
