package sched

import (
	"sort"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// TestFirstFit: firstFit answers as sort.Search for every monotone
// predicate, with at most one probe of the whole range.
func TestFirstFit(t *testing.T) {
	for n := 0; n <= 70; n++ {
		for first := 0; first <= n; first++ {
			whole := 0
			fits := func(k int) bool {
				if k == n-1 {
					whole++
				}
				return k >= first
			}
			if got, want := firstFit(n, fits), sort.Search(n, func(k int) bool { return k >= first }); got != want {
				t.Fatalf("n=%d first=%d: firstFit %d, sort.Search %d", n, first, got, want)
			}
			if whole > 2 {
				t.Fatalf("n=%d first=%d: the whole range was probed %d times", n, first, whole)
			}
		}
	}
}

// TestVictimSetNeedsAVictim: a job that fits with no victim gone gets no
// victim set. preempt searches only after the job failed to start; when
// its what-if says it fits without evicting anyone, the failure is one
// the what-if does not see, and no eviction is sure to cure it. The
// search used to pick the cheapest candidate anyway (it never tried the
// empty set), wherever that candidate ran: a deployment that placed its
// replicas at full power failed on power, fitted capped in the what-if,
// and evicted a job on another node, again and again (docs/plan.md,
// "Preemption storms").
func TestVictimSetNeedsAVictim(t *testing.T) {
	f := smallFacility(4)
	lo := job("lo", "acme", "normal", 1, 4)
	hi := job("hi", "acme", "high", 1, 8)
	snap := &model.Snapshot{Facility: f,
		Running: []model.Allocation{{Job: lo, Started: 0, Replicas: []model.Placement{{Node: "n1", GPUs: []int{0, 1, 2, 3}}}}},
		Pending: []*model.Job{hi}}
	p := newPass(snap, 1000, nil, nil, nil, nil)
	tn := p.tenants[hi.Tenant]
	ss := p.sitesFor(tn, hi)
	p.curSites = ss.id
	m := p.allModels[0]
	a := attempt{model: m, req: p.request(tn, hi, m, ss.mask)}
	refs, _ := p.matchVictims(tn, hi, m, ss.mask)
	cands := p.victimList(refs)
	if len(cands) != 1 {
		t.Fatalf("want lo as the one candidate, got %v", victimIDs(cands))
	}
	if !p.fitsWithout(hi, &a, cands) {
		t.Fatal("hi should fit with lo gone")
	}
	if set := p.victimSet(tn, hi, &a, cands); set != nil {
		t.Errorf("hi fits on n2 with nobody evicted, yet the search evicts %v", victimIDs(set))
	}
}

// TestProportionate: a victim may hold at most maxVictimRatio times the
// GPUs the job needs (a job that needs none is not bounded by it), and
// one taken by reclaim alone must have run minRunBeforeReclaim.
func TestProportionate(t *testing.T) {
	const now = model.Time(100_000)
	long := now - model.Time(3*model.Hour)
	edge := now - model.Time(minRunBeforeReclaim)
	for _, c := range []struct {
		need, gpus int64
		lower      bool
		started    model.Time
		want       bool
	}{
		{1, 8, true, long, true},
		{1, 9, true, long, false},
		{1, 1024, true, long, false},
		{128, 1024, false, long, true},
		{128, 1032, true, long, false},
		{0, 1024, true, long, true},
		{8, 8, true, now, true},
		{8, 8, false, edge, true},
		{8, 8, false, edge + 1, false},
		{8, 8, false, now, false},
		{1, 9, false, edge, false},
	} {
		if got := proportionate(c.need, c.gpus, c.lower, c.started, now); got != c.want {
			t.Errorf("proportionate(need %d, gpus %d, lower %v, ran %s) = %v, want %v",
				c.need, c.gpus, c.lower, now.Sub(c.started), got, c.want)
		}
	}
}
