package sched_test

import (
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// twoCountries has two H100 nodes in fr (FR) and two in de (DE); tenant
// a may run only in FR.
func twoCountries() *model.Facility {
	fac := newFacility()
	fac.Sites = []model.Site{{ID: "fr", Country: "FR", Jurisdictions: []string{"FR"}}, {ID: "de", Country: "DE", Jurisdictions: []string{"DE"}}}
	fac.Tenants = []model.Tenant{{Name: "a", FairShareWeight: 1, PriorityClasses: []string{"normal"}, Jurisdictions: []string{"FR"},
		Quota: map[string]model.Quota{"H100": quota(64, 0, -1)}}}
	fac.PriorityClasses = []model.PriorityClass{{Name: "normal", Value: 50}}
	fac.Nodes = []model.Node{makeNode("f1", "fr").Obj(), makeNode("f2", "fr").Obj(), makeNode("d1", "de").Obj(), makeNode("d2", "de").Obj()}
	return fac
}

// The reason blames sovereignty only when the sites it rules out would
// let the job start now; a job too large for its allowed sites, which
// the others would not cure, is told so as capacity.
func TestSovereigntyReasonOnlyWhenItBlocks(t *testing.T) {
	fac := twoCountries()
	for _, tc := range []struct {
		name    string
		job     *model.Job
		running []model.Allocation
		code    model.ReasonCode
		says    string
	}{{
		name: "too large for FR, would fit across sites",
		job:  makeJob("j", "a").Models("H100").Gang(3, 8).Topo(model.LevelAny, false).Class("normal", false).Limit(model.Hour).Submit(t0).Obj(),
		code: model.ReasonCapacity,
		says: "the sites it may use ({FR}) can hold 2 such replica(s) at most",
	}, {
		name: "FR full, DE free",
		job:  makeJob("j", "a").Models("H100").Gang(1, 8).Class("normal", false).Limit(model.Hour).Submit(t0).Obj(),
		running: []model.Allocation{
			allocation(makeJob("x", "a").Models("H100").Gang(2, 8).Limit(model.Hour).Obj(), t0,
				model.Placement{Node: "f1", GPUs: gpuRange(0, 8)}, model.Placement{Node: "f2", GPUs: gpuRange(0, 8)})},
		code: model.ReasonSovereignty,
		says: "free H100 only in {DE}",
	}, {
		name: "FR half full, DE free",
		job:  makeJob("j", "a").Models("H100").Gang(2, 8).Class("normal", false).Limit(model.Hour).Submit(t0).Obj(),
		running: []model.Allocation{
			allocation(makeJob("x", "a").Models("H100").Gang(1, 8).Limit(model.Hour).Obj(), t0, model.Placement{Node: "f1", GPUs: gpuRange(0, 8)})},
		code: model.ReasonSovereignty,
		says: "allowed {FR}, where 8 H100 are free, too few; more are free in {DE}",
	}, {
		name: "FR's free GPUs short of CPUs, DE free",
		job:  makeJob("j", "a").Models("H100").Gang(1, 8).Resources(64, 32).Class("normal", false).Limit(model.Hour).Submit(t0).Obj(),
		running: []model.Allocation{
			allocation(makeJob("x", "a").Models("H100").Gang(1, 8).Limit(model.Hour).Obj(), t0, model.Placement{Node: "f1", GPUs: gpuRange(0, 8)}),
			allocation(makeJob("y", "a").Gang(1, 0).Resources(100, 32).Limit(model.Hour).Obj(), t0, model.Placement{Node: "f2"})},
		code: model.ReasonSovereignty,
		says: "allowed {FR}, where 8 H100 are free but its replicas do not fit; they would in {DE}",
	}, {
		name: "no GPUs, FR's CPUs taken, DE free",
		job:  makeJob("j", "a").Gang(1, 0).Resources(64, 32).Class("normal", false).Limit(model.Hour).Submit(t0).Obj(),
		running: []model.Allocation{
			allocation(makeJob("y", "a").Gang(2, 0).Resources(100, 32).Limit(model.Hour).Obj(), t0,
				model.Placement{Node: "f1"}, model.Placement{Node: "f2"})},
		code: model.ReasonSovereignty,
		says: "allowed {FR}; room on H100 nodes only in {DE}",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			q := sched.NewQueue(fac, []*model.Job{tc.job})
			plan, _ := quickMatchesSchedule(t, &model.Snapshot{Facility: fac, Running: tc.running}, q,
				[]*model.Job{tc.job}, t0.Add(model.Minute), map[string]bool{}, tc.name)
			if len(plan.Starts) != 0 || len(plan.Pending) != 1 || plan.Pending[0].Code != tc.code {
				t.Fatalf("starts %+v, pending %+v; want j pending for %s", plan.Starts, plan.Pending, tc.code)
			}
			if msg := plan.Pending[0].Message; !strings.Contains(msg, tc.says) {
				t.Errorf("reason %q; want it to say %q", msg, tc.says)
			}
			t.Logf("reason: %s", plan.Pending[0].Message)
		})
	}
}

// Free GPUs outside the allowed sites are not enough to blame
// sovereignty: with France full, a job that Germany's nodes could not
// take either (CPUs, one site for a gang, exclusivity, power) waits for
// capacity, so that nobody widens its jurisdictions for nothing.
func TestSovereigntyReasonNotWhenElsewhereCannotHoldIt(t *testing.T) {
	full := allocation(makeJob("x", "a").Models("H100").Gang(2, 8).Limit(model.Hour).Obj(), t0,
		model.Placement{Node: "f1", GPUs: gpuRange(0, 8)}, model.Placement{Node: "f2", GPUs: gpuRange(0, 8)})
	cpus := allocation(makeJob("y", "a").Gang(2, 0).Resources(100, 32).Limit(model.Hour).Obj(), t0,
		model.Placement{Node: "d1"}, model.Placement{Node: "d2"})
	oneGPU := allocation(makeJob("z", "a").Models("H100").Gang(2, 1).Limit(model.Hour).Obj(), t0,
		model.Placement{Node: "d1", GPUs: gpuRange(0, 1)}, model.Placement{Node: "d2", GPUs: gpuRange(0, 1)})
	d1 := allocation(makeJob("w", "a").Models("H100").Gang(1, 8).Limit(model.Hour).Obj(), t0,
		model.Placement{Node: "d1", GPUs: gpuRange(0, 8)})
	d2 := allocation(makeJob("u", "a").Models("H100").Gang(1, 8).Limit(model.Hour).Obj(), t0,
		model.Placement{Node: "d2", GPUs: gpuRange(0, 8)})
	job := func() *jobW {
		return makeJob("j", "a").Models("H100").Class("normal", false).Limit(model.Hour).Submit(t0)
	}
	for _, tc := range []struct {
		name    string
		job     *model.Job
		running []model.Allocation
		fac     func(*model.Facility)
	}{{
		name:    "CPUs short in DE",
		job:     job().Gang(1, 8).Resources(64, 32).Obj(),
		running: []model.Allocation{full, cpus},
	}, {
		name:    "a gang DE holds only part of",
		job:     job().Gang(2, 8).Obj(),
		running: []model.Allocation{full, d1},
	}, {
		name: "a gang in one site, one replica free in each country",
		job:  job().Gang(2, 4).Topo(model.LevelSite, true).Obj(),
		running: []model.Allocation{allocation(makeJob("v", "a").Models("H100").Gang(4, 4).Limit(model.Hour).Obj(), t0,
			model.Placement{Node: "f1", GPUs: gpuRange(0, 4)}, model.Placement{Node: "f1", GPUs: gpuRange(4, 4)},
			model.Placement{Node: "f2", GPUs: gpuRange(0, 4)}, model.Placement{Node: "d1", GPUs: gpuRange(0, 4)}), d2},
	}, {
		name:    "exclusive, DE's nodes not empty",
		job:     job().Gang(1, 7).Exclusive().Obj(),
		running: []model.Allocation{full, oneGPU},
	}, {
		name: "no GPUs, CPUs short in DE",
		job:  job().Gang(1, 0).Resources(64, 32).Obj(),
		running: []model.Allocation{cpus, allocation(makeJob("s", "a").Gang(2, 0).Resources(100, 32).Limit(model.Hour).Obj(), t0,
			model.Placement{Node: "f1"}, model.Placement{Node: "f2"})},
	}, {
		name:    "no power for a replica in DE",
		job:     job().Gang(1, 8).Obj(),
		running: []model.Allocation{full},
		fac:     func(f *model.Facility) { f.Sites[1].PowerEnvelopeKW = 2.8 }, // 2.72 kW base and idle
	}} {
		t.Run(tc.name, func(t *testing.T) {
			fac := twoCountries()
			if tc.fac != nil {
				tc.fac(fac)
			}
			q := sched.NewQueue(fac, []*model.Job{tc.job})
			plan, _ := quickMatchesSchedule(t, &model.Snapshot{Facility: fac, Running: tc.running}, q,
				[]*model.Job{tc.job}, t0.Add(model.Minute), map[string]bool{}, tc.name)
			if len(plan.Starts) != 0 || len(plan.Pending) != 1 {
				t.Fatalf("starts %+v, pending %+v; want j pending", plan.Starts, plan.Pending)
			}
			if p := plan.Pending[0]; p.Code != model.ReasonCapacity || !strings.HasPrefix(p.Message, "capacity: needs") {
				t.Errorf("reason %s %q; want capacity", p.Code, p.Message)
			}
			t.Logf("reason: %s", plan.Pending[0].Message)
		})
	}
}
