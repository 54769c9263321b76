package sched_test

import (
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// shareFacility has two H100 nodes: n1 in fr, whose power share (80 W
// a GPU above idle: 2.0 kW less 800 W base and 8×70 W idle, over 8
// GPUs) is below the H100's lowest cap, and n2 in de, with no envelope.
func shareFacility() *model.Facility {
	fac := newFacility()
	fac.Policy.PowerShare = true
	fac.Sites = []model.Site{{ID: "fr", Jurisdictions: []string{"EU"}, PowerEnvelopeKW: 2.0}, {ID: "de", Jurisdictions: []string{"EU"}}}
	fac.Tenants = []model.Tenant{{Name: "a", FairShareWeight: 1, PriorityClasses: []string{"normal"}, Quota: map[string]model.Quota{"H100": quota(16, 0, -1)}}}
	fac.PriorityClasses = []model.PriorityClass{{Name: "normal", Value: 50}}
	fac.Nodes = []model.Node{makeNode("n1", "fr").Obj(), makeNode("n2", "de").Obj()}
	return fac
}

// A job allowed on both sites starts on the one whose share lets it,
// rather than waiting for the barred one.
func TestShareBarredSiteLeftForAnother(t *testing.T) {
	fac := shareFacility()
	for _, n := range []int{1, 4} { // one replica, and a gang on one node
		j := makeJob("j", "a").Models("H100").Gang(1, n).Class("normal", false).Limit(model.Hour).Submit(t0).Obj()
		q := sched.NewQueue(fac, []*model.Job{j})
		plan, _ := quickMatchesSchedule(t, &model.Snapshot{Facility: fac}, q, []*model.Job{j}, t0, map[string]bool{}, "first pass")
		if len(plan.Starts) != 1 || plan.Starts[0].Replicas[0].Node != "n2" {
			t.Fatalf("%d GPUs: starts %+v, pending %+v; want j on n2", n, plan.Starts, plan.Pending)
		}
	}
}

// A job allowed only on a barred site waits with a reason that names the
// share, is not curable by preemption, and holds no reservation.
func TestShareBarredEverywhereSaysShare(t *testing.T) {
	fac := shareFacility()
	fac.Nodes = fac.Nodes[:1]
	j := makeJob("j", "a").Models("H100").Class("normal", false).Limit(model.Hour).Submit(t0).Obj()
	q := sched.NewQueue(fac, []*model.Job{j})
	plan, _ := quickMatchesSchedule(t, &model.Snapshot{Facility: fac}, q, []*model.Job{j}, t0, map[string]bool{}, "first pass")
	if len(plan.Starts) != 0 || len(plan.Pending) != 1 || len(plan.Reservations) != 0 {
		t.Fatalf("starts %+v, reservations %+v, pending %+v; want one pending, no reservation", plan.Starts, plan.Reservations, plan.Pending)
	}
	p := plan.Pending[0]
	if p.Code != model.ReasonPower || p.EstStart != 0 || !strings.Contains(p.Message, "share") || !strings.Contains(p.Message, "fr") {
		t.Fatalf("pending %+v; want a power reason naming fr's share, no estimate", p)
	}
	t.Logf("reason: %s", p.Message)
}

// With the one usable site full, the reason is its capacity: the free
// GPUs of the barred site are not "free elsewhere" for sovereignty.
func TestShareBarredSiteNotCalledSovereignty(t *testing.T) {
	fac := shareFacility()
	x := makeJob("x", "a").Models("H100").Gang(1, 8).Class("normal", false).Limit(model.Hour).Obj()
	j := makeJob("j", "a").Models("H100").Gang(1, 8).Class("normal", false).Limit(model.Hour).Submit(t0).Obj()
	a := allocation(x, t0, model.Placement{Node: "n2", GPUs: gpuRange(0, 8)})
	q := sched.NewQueue(fac, []*model.Job{j})
	plan, _ := quickMatchesSchedule(t, &model.Snapshot{Facility: fac, Running: []model.Allocation{a}}, q,
		[]*model.Job{j}, t0.Add(model.Minute), map[string]bool{}, "pass")
	if len(plan.Starts) != 0 || len(plan.Pending) != 1 || plan.Pending[0].Code != model.ReasonCapacity {
		t.Fatalf("starts %+v, pending %+v; want j pending for capacity", plan.Starts, plan.Pending)
	}
	if want := t0.Add(model.Hour); plan.Pending[0].EstStart != want {
		t.Fatalf("pending %+v; want an estimate at x's end %s", plan.Pending[0], want.Clock())
	}
}

// Preempting work on a barred site frees GPUs no start may use there, so
// a high-priority job allowed only there preempts nothing.
func TestShareBarredSitePreemptsNothing(t *testing.T) {
	fac := shareFacility()
	fac.Nodes = fac.Nodes[:1]
	fac.PriorityClasses = []model.PriorityClass{{Name: "high", Value: 100}, {Name: "low", Value: 10, Preemptible: true}}
	fac.Tenants[0].PriorityClasses = []string{"high", "low"}
	lo := makeJob("lo", "a").Models("H100").Gang(1, 8).Class("low", true).Limit(model.Hour).Obj()
	j := makeJob("j", "a").Models("H100").Gang(1, 8).Class("high", false).Limit(model.Hour).Submit(t0).Obj()
	a := allocation(lo, t0, model.Placement{Node: "n1", GPUs: gpuRange(0, 8)})
	q := sched.NewQueue(fac, []*model.Job{j})
	plan, _ := quickMatchesSchedule(t, &model.Snapshot{Facility: fac, Running: []model.Allocation{a}}, q,
		[]*model.Job{j}, t0.Add(model.Minute), map[string]bool{}, "pass")
	if len(plan.Starts) != 0 || len(plan.Preemptions) != 0 || len(plan.Pending) != 1 || plan.Pending[0].Code != model.ReasonPower {
		t.Fatalf("starts %+v, preemptions %+v, pending %+v; want j pending for power, nothing preempted",
			plan.Starts, plan.Preemptions, plan.Pending)
	}
}
