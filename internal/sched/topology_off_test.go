package sched_test

import (
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// With topology-aware placement off, a gang still never spans sites
// unless its topology is "any" (jobspec.md): the policy drops the
// levels' requirements, not the sites' boundary.
func TestTopologyOffGangStaysInOneSite(t *testing.T) {
	fac := newFacility()
	fac.Policy.Topology = false
	fac.Sites = []model.Site{{ID: "fr", Jurisdictions: []string{"EU"}}, {ID: "de", Jurisdictions: []string{"EU"}}}
	fac.Tenants = []model.Tenant{{Name: "a", FairShareWeight: 1, PriorityClasses: []string{"normal"}, Quota: map[string]model.Quota{"H100": quota(32, 0, -1)}}}
	fac.PriorityClasses = []model.PriorityClass{{Name: "normal", Value: 50}}
	fac.Nodes = []model.Node{makeNode("n1", "fr").Obj(), makeNode("n2", "de").Obj()}
	for _, tc := range []struct {
		level model.TopologyLevel
		start bool
	}{{model.LevelSite, false}, {model.LevelRack, false}, {model.LevelAny, true}} {
		j := makeJob("j", "a").Models("H100").Gang(2, 8).Topo(tc.level, false).Class("normal", false).Limit(model.Hour).Submit(t0).Obj()
		q := sched.NewQueue(fac, []*model.Job{j})
		plan, _ := quickMatchesSchedule(t, &model.Snapshot{Facility: fac}, q, []*model.Job{j}, t0, map[string]bool{}, tc.level.String())
		if got := len(plan.Starts) == 1; got != tc.start {
			t.Fatalf("topology %s: starts %+v, pending %+v; want started %v", tc.level, plan.Starts, plan.Pending, tc.start)
		}
		if !tc.start && (plan.Pending[0].Code != model.ReasonTopology || !strings.Contains(plan.Pending[0].Message, "across sites")) {
			t.Fatalf("topology %s: pending %+v; want a topology reason about sites", tc.level, plan.Pending[0])
		}
	}
}
