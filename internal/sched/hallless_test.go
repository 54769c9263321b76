package sched_test

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
	"github.com/carnot-dc/carnot/internal/sched"
)

// hallless: two sites without halls, as the live server's facility has
// for sites its file gives no hall (nodes registered there get hall ""),
// with one 8×H100 node each, in racks and fabrics of their own. A gang
// of 2×8 needs both nodes.
func hallless() *model.Facility {
	f := newFacility()
	f.Policy.Quotas, f.Policy.Preemption, f.Policy.Reclaim, f.Policy.Deferral, f.Policy.FairShare = false, false, false, false, false
	f.Sites = []model.Site{
		{ID: "s1", Name: "s1", Country: "FR", Jurisdictions: []string{"EU"}, PUE: 1.2, GridZone: "FR", PowerEnvelopeKW: 100},
		{ID: "s2", Name: "s2", Country: "DE", Jurisdictions: []string{"EU"}, PUE: 1.2, GridZone: "DE", PowerEnvelopeKW: 100},
	}
	f.Racks = []model.Rack{{ID: "rack-a"}, {ID: "rack-b"}}
	f.Nodes = []model.Node{
		makeNode("a", "s1").Place("", "rack-a").Fabric("a", "leaf-a").Obj(),
		makeNode("b", "s2").Place("", "rack-b").Fabric("b", "leaf-b").Obj(),
	}
	f.Tenants = []model.Tenant{{Name: "t", FairShareWeight: 1}}
	f.PriorityClasses = []model.PriorityClass{{Name: "normal", Value: 50}}
	return f
}

// Nodes of two sites that share a hall name (both "") are not one hall:
// a gang that must stay in one hall, or one site, waits rather than
// start across the two sites (which plan.Verify refuses), and one that
// may span sites starts.
func TestHallessSitesAreNotOneHall(t *testing.T) {
	for _, tc := range []struct {
		level model.TopologyLevel
		start bool
	}{
		{model.LevelHall, false},
		{model.LevelSite, false},
		{model.LevelAny, true},
	} {
		t.Run(tc.level.String(), func(t *testing.T) {
			j := makeJob("P", "t").Gang(2, 8).Class("normal", false).Topo(tc.level, true).Obj()
			snap := &model.Snapshot{Facility: hallless(), Pending: []*model.Job{j}}
			p := sched.Schedule(snap, t0)
			if vs := plan.Verify(snap, &p); vs != nil {
				t.Fatalf("the plan breaks the facility's rules: %v", vs)
			}
			if got := len(p.Starts) == 1; got != tc.start {
				text, _ := render(t, snap, &p)
				t.Fatalf("started %v, want %v:\n%s", got, tc.start, text)
			}
		})
	}
}
