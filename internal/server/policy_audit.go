package server

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/store"
)

// recPolicy is the kind of the record of the sovereignty policy the
// server last started with (key policyKey).
const (
	recPolicy = "policy"
	policyKey = "sovereignty"
)

// sovereigntyPolicy is what of a facility decides where work may run:
// each tenant's, site's and data class's jurisdiction tags.
type sovereigntyPolicy struct {
	Tenants     map[string][]string `json:"tenants"`
	Sites       map[string][]string `json:"sites"`
	DataClasses map[string][]string `json:"data_classes"`
}

func policyOf(f *model.Facility) sovereigntyPolicy {
	p := sovereigntyPolicy{Tenants: map[string][]string{}, Sites: map[string][]string{}, DataClasses: map[string][]string{}}
	for _, t := range f.Tenants {
		p.Tenants[t.Name] = t.Jurisdictions
	}
	for _, s := range f.Sites {
		p.Sites[s.ID] = s.Jurisdictions
	}
	for c, tags := range f.DataClasses {
		p.DataClasses[c] = tags
	}
	return p
}

// recordPolicy compares the facility's sovereignty policy with the one
// the server last started with and records each change as a sovereignty
// event of actor server:config: a tenant's jurisdictions (an event of
// that tenant, so that it reads in its own audit entries that it may now
// run elsewhere), a site's tags, a data class's. A facility file widened
// for a while and narrowed back leaves its trace in the audit log. The
// first start records the policy without an event.
func (s *Server) recordPolicy(ctx context.Context) error {
	now := policyOf(s.cfg.Facility)
	before, found, err := startRecord[sovereigntyPolicy](ctx, s, recPolicy, policyKey, "the sovereignty policy last in force")
	if err != nil {
		return err
	}
	var evs []api.Event
	if found {
		at := s.cfg.Now().UTC()
		// subject is "tenant acme": a tenant, site or data class added
		// or removed is said so, not as its jurisdictions added or
		// removed (which reads as a constraint lifted).
		change := func(tenant, subject string, was, is []string, wasOK, isOK bool) {
			what := ""
			switch {
			case wasOK && isOK && sameTags(was, is):
				return
			case !wasOK:
				what = fmt.Sprintf("%s added, with jurisdictions %s", subject, tagsText(is))
			case !isOK:
				what = fmt.Sprintf("%s removed (its jurisdictions were %s)", subject, tagsText(was))
			default:
				what = fmt.Sprintf("%s's jurisdictions changed from %s to %s", subject, tagsText(was), tagsText(is))
			}
			evs = append(evs, api.Event{Time: at, Tenant: tenant, Type: api.EventSovereignty, Actor: "server:config",
				Message: clip("the facility's sovereignty policy changed: " + what)})
		}
		diff := func(kind string, was, is map[string][]string, ofTenant bool) {
			for _, k := range sortedKeys(unionKeys(was, is)) {
				w, wok := was[k]
				i, iok := is[k]
				tenant := ""
				if ofTenant && iok {
					tenant = k
				}
				change(tenant, kind+" "+k, w, i, wok, iok)
			}
		}
		diff("tenant", before.Tenants, now.Tenants, true)
		diff("site", before.Sites, now.Sites, false)
		diff("data class", before.DataClasses, now.DataClasses, false)
		if len(evs) == 0 {
			return nil
		}
	}
	b, err := json.Marshal(now)
	if err != nil {
		return err
	}
	if err := s.putRecords(ctx, []store.Record{{Kind: recPolicy, Key: policyKey, Doc: b}}, evs); err != nil {
		return fmt.Errorf("server: recording the sovereignty policy: %w", err)
	}
	return nil
}

// tagsText writes jurisdiction tags for a message: [EU FR], or "any"
// for none (no constraint).
func tagsText(tags []string) string {
	if len(tags) == 0 {
		return "any"
	}
	return fmt.Sprint(tags)
}

// sameTags reports whether two lists of tags hold the same tags, in
// whatever order.
func sameTags(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func unionKeys[V any](a, b map[string]V) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}
