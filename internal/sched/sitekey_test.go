package sched_test

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
	"github.com/google/go-cmp/cmp"
)

// Two jurisdiction lists that a comma would join into one string,
// "FR,DE,US", allow different sites: FR for the first, US for the
// second. The sites a job may use are kept by what decides them, so the
// name must tell the lists apart, in one pass and across passes.
func siteKeyFacility() *model.Facility {
	fac := newFacility()
	fac.Sites = []model.Site{{ID: "s1", Jurisdictions: []string{"FR"}, PowerEnvelopeKW: 1000},
		{ID: "s2", Jurisdictions: []string{"US"}, PowerEnvelopeKW: 1000}}
	fac.Nodes = []model.Node{makeNode("n1", "s1").Model("H100", 1).Obj(), makeNode("n2", "s2").Model("H100", 1).Obj()}
	fac.Tenants = []model.Tenant{{Name: "t", Quota: map[string]model.Quota{"H100": quota(16, 0, 0)}}}
	return fac
}

func TestSiteSetsTellJurisdictionListsApart(t *testing.T) {
	fac := siteKeyFacility()
	fr := makeJob("fr", "t").Gang(1, 1).Jur("FR", "DE,US").Submit(t0 - 5).Obj()
	us := makeJob("us", "t").Gang(1, 1).Jur("FR,DE", "US").Submit(t0 - 1).Obj()
	p := sched.Schedule(&model.Snapshot{Facility: fac, Pending: []*model.Job{fr, us}}, t0)
	on := map[string]string{}
	for _, s := range p.Starts {
		on[s.Job] = s.Replicas[0].Node
	}
	if on["fr"] != "n1" || on["us"] != "n2" {
		t.Fatalf("starts %v, want fr on n1 (FR) and us on n2 (US); pending %+v", on, p.Pending)
	}
}

func TestKeptSiteSetsTellJurisdictionListsApart(t *testing.T) {
	fac := siteKeyFacility()
	fr := makeJob("fr", "t").Gang(1, 1).Jur("FR", "DE,US").Obj()
	us := makeJob("us", "t").Gang(1, 1).Jur("FR,DE", "US").Obj()
	snap := &model.Snapshot{Facility: fac}
	q := sched.NewQueue(fac, []*model.Job{fr})
	sched.Quick(snap, q, t0, 0) // keeps fr's sites
	q.Remove("fr")
	q.Add(us)
	got, _ := sched.Quick(snap, q, t0, 0)
	want := sched.Schedule(&model.Snapshot{Facility: fac, Pending: []*model.Job{us}}, t0)
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("Quick differs from Schedule (-schedule +quick):\n%s", d)
	}
	if len(got.Starts) != 1 || got.Starts[0].Replicas[0].Node != "n2" {
		t.Fatalf("us starts %+v, want on n2 (US)", got.Starts)
	}
}
