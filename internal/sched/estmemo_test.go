package sched_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// TestKeptEstimateSeesChanges: a reservation's estimate kept from the
// last pass serves the next while nothing it reads changed, and is made
// again when something did without a node changing in the view (a
// running job's eviction set) or changed in the pass itself (a job that
// starts before it): each pass plans as a fresh Schedule.
func TestKeptEstimateSeesChanges(t *testing.T) {
	fac := newFacility()
	fac.Sites = []model.Site{{ID: "fr", Jurisdictions: []string{"EU"}}}
	fac.Tenants = []model.Tenant{{Name: "a", FairShareWeight: 1, PriorityClasses: []string{"high", "normal"},
		Quota: map[string]model.Quota{"H100": quota(20, 0, -1)}},
		{Name: "b", FairShareWeight: 1, PriorityClasses: []string{"normal"}, Quota: map[string]model.Quota{"H100": quota(16, 0, -1)}}}
	fac.PriorityClasses = []model.PriorityClass{{Name: "high", Value: 100}, {Name: "normal", Value: 50}}
	fac.Nodes = []model.Node{makeNode("n1", "fr").Obj(), makeNode("n2", "fr").Obj()}
	r1 := makeJob("r1", "b").Gang(1, 4).Class("normal", false).Limit(2 * model.Hour).Obj()
	r2 := makeJob("r2", "b").Gang(1, 8).Class("normal", false).Limit(4 * model.Hour).Obj()
	big := makeJob("big", "a").Gang(2, 8).Class("normal", false).Limit(model.Hour).Submit(t0).Obj()
	small := makeJob("small", "a").Gang(1, 4).Class("high", false).Limit(10 * model.Hour).Submit(t0).Obj()
	running := func() []model.Allocation {
		return []model.Allocation{
			allocation(r1, t0, model.Placement{Node: "n1", GPUs: gpuRange(0, 4)}),
			allocation(r2, t0, model.Placement{Node: "n2", GPUs: gpuRange(0, 8)}),
		}
	}
	for _, tc := range []struct {
		name   string
		change func(s *model.Snapshot, q *sched.Queue) []*model.Job
		want   string // the reservation's start in the second pass
		kept   bool   // the second pass takes the first's estimate
	}{
		{"nothing read changed", func(s *model.Snapshot, q *sched.Queue) []*model.Job {
			return []*model.Job{big}
		}, t0.Add(4 * model.Hour).Clock(), true},
		{"eviction set", func(s *model.Snapshot, q *sched.Queue) []*model.Job {
			s.Running[1].Terminating, s.Running[1].EvictAt = true, t0.Add(20*model.Minute)
			return []*model.Job{big}
		}, t0.Add(2 * model.Hour).Clock(), false},
		{"a start before it", func(s *model.Snapshot, q *sched.Queue) []*model.Job {
			q.Add(small)
			return []*model.Job{big, small}
		}, t0.Add(15*model.Minute + 10*model.Hour).Clock(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap := &model.Snapshot{Facility: fac, Running: running()}
			q := sched.NewQueue(fac, []*model.Job{big})
			first, _ := quickMatchesSchedule(t, snap, q, []*model.Job{big}, t0.Add(10*model.Minute), map[string]bool{}, "first pass")
			if len(first.Reservations) != 1 || first.Reservations[0].EstStart != t0.Add(4*model.Hour) {
				t.Fatalf("first pass reserves %+v (%+v), want big from %s", first.Reservations, first.Pending, t0.Add(4*model.Hour).Clock())
			}
			snap = &model.Snapshot{Facility: fac, Running: running()}
			queued := tc.change(snap, q)
			second, _ := quickMatchesSchedule(t, snap, q, queued, t0.Add(15*model.Minute), map[string]bool{}, "second pass")
			msg := ""
			for _, pe := range second.Pending {
				if pe.Job == "big" {
					msg = pe.Message
				}
			}
			if !strings.Contains(msg, fmt.Sprintf("from ~%s", tc.want)) {
				t.Fatalf("second pass: big %q, want its reservation from ~%s", msg, tc.want)
			}
			if hits := sched.QueueMemoHits(q); hits != map[bool]int{true: 1}[tc.kept] {
				t.Fatalf("%d estimates kept from the first pass, want %v", hits, tc.kept)
			}
		})
	}
}

// TestKeptEstimateSpanningHall: with a hall across two sites, a job on
// one site waits for power that a job on the other gives back; its kept
// estimate is made again when that job's release moves (its eviction
// set) or comes due (overdue, the same snapshot later).
func TestKeptEstimateSpanningHall(t *testing.T) {
	fac := newFacility()
	fac.Sites = []model.Site{{ID: "fr", Jurisdictions: []string{"EU"}}, {ID: "de", Jurisdictions: []string{"EU"}}}
	fac.Halls = []model.Hall{{ID: "h", Site: "fr", PowerCapKW: 6.0}}
	fac.Tenants = []model.Tenant{
		{Name: "a", FairShareWeight: 1, PriorityClasses: []string{"normal"}, Quota: map[string]model.Quota{"H100": quota(16, 0, -1)}},
		{Name: "b", FairShareWeight: 1, PriorityClasses: []string{"normal"}, Quota: map[string]model.Quota{"A100": quota(16, 0, -1)}}}
	fac.PriorityClasses = []model.PriorityClass{{Name: "normal", Value: 50}}
	fac.Nodes = []model.Node{makeNode("n1", "fr").Place("h", "fr-r1").Obj(), makeNode("m1", "de").Model("A100", 8).Place("h", "de-r1").Obj()}
	x := makeJob("x", "b").Models("A100").Gang(1, 8).Class("normal", false).Limit(model.Hour).Obj()
	big := makeJob("big", "a").Models("H100").Gang(1, 8).Class("normal", false).Limit(model.Hour).Submit(t0).Obj()
	for _, tc := range []struct {
		name  string
		evict bool
		at    model.Time
	}{
		{"eviction set", true, t0.Add(15 * model.Minute)},
		{"release come due", false, t0.Add(2 * model.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := sched.NewQueue(fac, []*model.Job{big})
			a := allocation(x, t0, model.Placement{Node: "m1", GPUs: gpuRange(0, 8)})
			first, _ := quickMatchesSchedule(t, &model.Snapshot{Facility: fac, Running: []model.Allocation{a}}, q,
				[]*model.Job{big}, t0.Add(10*model.Minute), map[string]bool{}, "first pass")
			if len(first.Reservations) != 1 {
				t.Fatalf("first pass reserves %+v; the test needs big to wait for x's power", first.Reservations)
			}
			if tc.evict {
				a.Terminating, a.EvictAt = true, t0.Add(20*model.Minute)
			}
			quickMatchesSchedule(t, &model.Snapshot{Facility: fac, Running: []model.Allocation{a}}, q,
				[]*model.Job{big}, tc.at, map[string]bool{}, "second pass")
		})
	}
}

// TestKeptEstimateShareBarsSite: with power share, a site whose
// envelope leaves each GPU less than its lowest cap above idle can start
// nothing on that model, whatever else runs. The estimate of such a job
// used to take the placement's word (the power filter sees headroom
// enough) at the first release anywhere, here x's on the other site:
// an estimated start the job never gets, which the kept estimate then
// served after it had passed (x overdue), where a fresh pass estimated
// it at now. The estimate now checks the share as the start does: none.
func TestKeptEstimateShareBarsSite(t *testing.T) {
	fac := newFacility()
	fac.Policy.PowerShare = true
	// fr: 2.0 kW less 800 W base and 8×70 W idle is 80 W per GPU above
	// idle, a cap of 150 W below the H100's lowest, 200 W
	fac.Sites = []model.Site{{ID: "fr", Jurisdictions: []string{"EU"}, PowerEnvelopeKW: 2.0}, {ID: "de", Jurisdictions: []string{"EU"}}}
	fac.Tenants = []model.Tenant{
		{Name: "a", FairShareWeight: 1, PriorityClasses: []string{"normal"}, Quota: map[string]model.Quota{"H100": quota(16, 0, -1)}},
		{Name: "b", FairShareWeight: 1, PriorityClasses: []string{"normal"}, Quota: map[string]model.Quota{"A100": quota(16, 0, -1)}}}
	fac.PriorityClasses = []model.PriorityClass{{Name: "normal", Value: 50}}
	fac.Nodes = []model.Node{makeNode("n1", "fr").Obj(), makeNode("m1", "de").Model("A100", 8).Obj()}
	x := makeJob("x", "b").Models("A100").Gang(1, 8).Class("normal", false).Limit(model.Hour).Obj()
	one := makeJob("one", "a").Models("H100").Class("normal", false).Limit(model.Hour).Submit(t0).Obj()
	a := allocation(x, t0, model.Placement{Node: "m1", GPUs: gpuRange(0, 8)})
	q := sched.NewQueue(fac, []*model.Job{one})
	for _, now := range []model.Time{t0.Add(10 * model.Minute), t0.Add(2 * model.Hour)} {
		plan, _ := quickMatchesSchedule(t, &model.Snapshot{Facility: fac, Running: []model.Allocation{a}}, q,
			[]*model.Job{one}, now, map[string]bool{}, fmt.Sprintf("pass at %s", now.Clock()))
		if len(plan.Starts) != 0 || len(plan.Reservations) != 0 || len(plan.Pending) != 1 || plan.Pending[0].EstStart != 0 {
			t.Fatalf("pass at %s: starts %+v, reservations %+v, pending %+v; want one pending with no estimate",
				now.Clock(), plan.Starts, plan.Reservations, plan.Pending)
		}
	}
}
