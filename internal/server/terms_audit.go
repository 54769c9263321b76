package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/store"
)

// termsKey is the key of the record (kind recPolicy) of the terms the
// server last started with.
const termsKey = "terms"

// terms is what of a facility decides who gets the GPUs and who may be
// preempted for whom: the tenants' quotas, weights, priority classes and
// tenancy, the cohorts, the priority classes and the scheduling policy;
// and the server's settings that decide when work counts as lost.
// Each part is kept as a map of field to JSON value, so that a change
// says which field changed, from what, to what.
type terms struct {
	Tenants map[string]map[string]json.RawMessage `json:"tenants"`
	Cohorts map[string]map[string]json.RawMessage `json:"cohorts"`
	Classes map[string]map[string]json.RawMessage `json:"priority_classes"`
	Policy  map[string]json.RawMessage            `json:"policy"`
	// Server are the server's own settings that decide when a tenant's
	// work counts as lost or is killed, and where nodes may join.
	Server map[string]json.RawMessage `json:"server,omitempty"`
}

// quotaTerms is a model.Quota as a change of it reads.
type quotaTerms struct {
	Nominal        int  `json:"nominal"`
	BorrowingLimit *int `json:"borrowing_limit,omitempty"`
	LendingLimit   *int `json:"lending_limit,omitempty"`
}

func quotaOf(q map[string]model.Quota) map[string]quotaTerms {
	out := make(map[string]quotaTerms, len(q))
	for m, x := range q {
		out[m] = quotaTerms{x.Nominal, x.BorrowingLimit, x.LendingLimit}
	}
	return out
}

// fields encodes each value of a part of the terms.
func fields(kv ...any) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		b, _ := json.Marshal(kv[i+1])
		out[kv[i].(string)] = b
	}
	return out
}

func termsOf(cfg *Config) (terms, error) {
	f := cfg.Facility
	t := terms{Tenants: map[string]map[string]json.RawMessage{}, Cohorts: map[string]map[string]json.RawMessage{},
		Classes: map[string]map[string]json.RawMessage{}}
	for _, x := range f.Tenants {
		t.Tenants[x.Name] = fields("cohort", x.Cohort, "quota", quotaOf(x.Quota), "fair-share weight", x.FairShareWeight,
			"priority classes", x.PriorityClasses, "exclusive", x.Exclusive)
	}
	for _, c := range f.Cohorts {
		t.Cohorts[c.Name] = fields("parent", c.Parent, "quota", quotaOf(c.Quota), "fair-share weight", c.FairShareWeight)
	}
	for _, c := range f.PriorityClasses {
		t.Classes[c.Name] = fields("value", c.Value, "preemptible", c.Preemptible)
	}
	t.Server = fields("heartbeat timeout", cfg.HeartbeatTimeout.String(), "stop after disconnect", cfg.StopAfterDisconnect.String(),
		"kill timeout", cfg.KillTimeout.String(), "dynamic nodes", cfg.DynamicNodes)
	var err error
	t.Policy, err = policyTerms(f.Policy)
	return t, err
}

// policyTerms is a policy as the facility file names it
// (facility.PolicyOf): snake_case names, durations as text. borrowing
// and reclaim_victims, which the summary leaves out at their defaults,
// are named at them too, so that a change back to the default reads as
// a change, not as a field of another version of Carnot.
func policyTerms(p model.Policy) (map[string]json.RawMessage, error) {
	info := facility.PolicyOf(p)
	if info.Borrowing == "" {
		info.Borrowing = "any"
	}
	if info.ReclaimVictims == "" {
		info.ReclaimVictims = "proportionate"
	}
	var out map[string]json.RawMessage
	b, err := json.Marshal(info)
	if err == nil {
		err = json.Unmarshal(b, &out)
	}
	return out, err
}

// goNamedPolicy is a field that only a record of the terms kept by an
// earlier Carnot has: it kept the policy under model.Policy's Go names.
const goNamedPolicy = "Preemption"

// renamePolicy reads a policy kept under model.Policy's Go names (by an
// earlier Carnot) as the facility file names it. A field that record
// lacks (one that Carnot did not have yet) is at its default, as that
// Carnot ran it.
func renamePolicy(was map[string]json.RawMessage) (map[string]json.RawMessage, error) {
	if _, ok := was[goNamedPolicy]; !ok {
		return was, nil
	}
	b, err := json.Marshal(was)
	if err != nil {
		return nil, err
	}
	p := model.DefaultPolicy()
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, err
	}
	return policyTerms(p)
}

// recordTerms compares the facility's terms with those the server last
// started with and records each change as a facility event of actor
// server:config: a tenant's (an event of that tenant, so that it reads
// in its own audit entries that its quota was lowered before a
// preemption), a cohort's, a priority class's, the policy's, the
// server settings'. The first start records the terms without an event.
func (s *Server) recordTerms(ctx context.Context) error {
	now, err := termsOf(&s.cfg)
	if err != nil {
		return fmt.Errorf("server: the facility's terms: %w", err)
	}
	const what = "the terms last in force"
	before, found, err := startRecord[terms](ctx, s, recPolicy, termsKey, what)
	if err != nil {
		return err
	}
	if found {
		if before.Policy, err = renamePolicy(before.Policy); err != nil {
			s.unreadableRecord(recPolicy, termsKey, what, err)
			found = false
		}
	}
	var evs []api.Event
	if found {
		at := s.cfg.Now().UTC()
		add := func(tenant, what string) {
			evs = append(evs, api.Event{Time: at, Tenant: tenant, Type: api.EventFacility, Actor: actorConfig,
				Message: clip("the facility's terms changed: " + what)})
		}
		parts := []struct {
			kind     string
			was, is  map[string]map[string]json.RawMessage
			ofTenant bool
		}{{"tenant", before.Tenants, now.Tenants, true}, {"cohort", before.Cohorts, now.Cohorts, false},
			{"priority class", before.Classes, now.Classes, false}}
		for _, p := range parts {
			for _, name := range sortedKeys(unionKeys(p.was, p.is)) {
				w, wok := p.was[name]
				i, iok := p.is[name]
				tenant := ""
				if p.ofTenant && iok {
					tenant = name
				}
				switch {
				case !wok:
					add(tenant, fmt.Sprintf("%s %s added (%s)", p.kind, name, fieldsText(i)))
				case !iok:
					add(tenant, fmt.Sprintf("%s %s removed (it had %s)", p.kind, name, fieldsText(w)))
				default:
					if d := fieldsDiff(w, i); d != "" {
						add(tenant, fmt.Sprintf("%s %s's %s", p.kind, name, d))
					}
				}
			}
		}
		if d := fieldsDiff(before.Policy, now.Policy); d != "" {
			add("", "scheduling policy: "+d)
		}
		if d := fieldsDiff(before.Server, now.Server); d != "" {
			add("", "server settings: "+d)
		}
		if len(evs) == 0 {
			return nil
		}
	}
	b, err := json.Marshal(now)
	if err != nil {
		return err
	}
	if err := s.putRecords(ctx, []store.Record{{Kind: recPolicy, Key: termsKey, Doc: b}}, evs); err != nil {
		return fmt.Errorf("server: recording the terms: %w", err)
	}
	return nil
}

// fieldsDiff says which fields changed between was and is ("quota from
// … to …; fair-share weight from 1 to 2"), "" when none did. A field
// only one of them has is of another version of Carnot (one that
// introduced or dropped it), not a change of the file.
func fieldsDiff(was, is map[string]json.RawMessage) string {
	var out []string
	for _, k := range sortedKeys(unionKeys(was, is)) {
		w, i := was[k], is[k]
		if w == nil || i == nil || bytes.Equal(w, i) {
			continue
		}
		if wt, it := valueText(k, w), valueText(k, i); wt != it { // null and [] alike: "any"
			out = append(out, fmt.Sprintf("%s from %s to %s", k, wt, it))
		}
	}
	return strings.Join(out, "; ")
}

// fieldsText writes fields as "quota …, fair-share weight 1".
func fieldsText(f map[string]json.RawMessage) string {
	out := make([]string, 0, len(f))
	for _, k := range sortedKeys(f) {
		out = append(out, k+" "+valueText(k, f[k]))
	}
	return strings.Join(out, ", ")
}

// valueText writes a field's value as JSON, but a value that means
// "none" or "the default" as the facility file means it: a tenant that
// lists no priority classes may use any, one or a cohort with no cohort
// or parent has none, a tenant without exclusive shares nodes (gpu),
// and no quota is none.
func valueText(field string, v json.RawMessage) string {
	switch s := string(v); {
	case field == "priority classes" && (s == "null" || s == "[]"):
		return "any"
	case (field == "cohort" || field == "parent") && s == `""`,
		field == "quota" && (s == "{}" || s == "null"):
		return "none"
	case field == "exclusive" && s == `""`:
		return `"gpu"`
	default:
		return s
	}
}
