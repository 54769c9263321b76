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
	refs, _ := p.matchVictims(tn, hi, m, ss.mask, false)
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

// TestProportionate: a victim may hold at most Policy.VictimRatio times
// the GPUs the job needs (a job that needs none is not bounded by it),
// and one taken by reclaim alone must have run Policy.ReclaimMinRun
// (the defaults, 8 and 30m); 0 turns either bound off.
func TestProportionate(t *testing.T) {
	const now = model.Time(100_000)
	pol := model.DefaultPolicy()
	long := now - model.Time(3*model.Hour)
	edge := now - model.Time(pol.ReclaimMinRun)
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
		if got := proportionate(&pol, c.need, c.gpus, c.lower, c.started, now); got != c.want {
			t.Errorf("proportionate(need %d, gpus %d, lower %v, ran %s) = %v, want %v",
				c.need, c.gpus, c.lower, now.Sub(c.started), got, c.want)
		}
	}
	off := pol
	off.VictimRatio, off.ReclaimMinRun = 0, 0
	if !proportionate(&off, 1, 4096, false, now, now) {
		t.Error("with both bounds off, a just-started 4,096-GPU victim is spared for a 1-GPU job")
	}
	if got, want := noteSpared(&pol, spareRatio|spareRecent), "; preemption spares the work it could evict (more than 8 times the GPUs this job needs, or, by reclaim, started less than 30m0s ago)"; got != want {
		t.Errorf("noteSpared = %q, want %q", got, want)
	}
	off.VictimRatio = 16
	if got, want := noteSpared(&off, spareRatio), "; preemption spares the work it could evict (more than 16 times the GPUs this job needs)"; got != want {
		t.Errorf("noteSpared = %q, want %q", got, want)
	}
}

// TestReclaimAnySizeSearchesOnceWhenUnbound: a job that reclaims free of
// victim_ratio searches within the ratio first, and again free of it
// only when the ratio could have left a victim out: with victim_ratio 0
// (no bound) the two searches are the same, and the second is not made.
// Here beta's borrower started just now, so reclaim spares it either way.
func TestReclaimAnySizeSearchesOnceWhenUnbound(t *testing.T) {
	for _, ratio := range []int{0, 8} {
		f := smallFacility(2)
		f.Tenants[1].Quota = nil // beta borrows all it runs
		f.Policy.VictimRatio, f.Policy.ReclaimAnySize = ratio, true
		lo := job("lo", "beta", "normal", 1, 8)
		hi := job("hi", "acme", "normal", 1, 1)
		snap := &model.Snapshot{Facility: f,
			Running: []model.Allocation{{Job: lo, Started: 1000, Replicas: []model.Placement{{Node: "n1", GPUs: []int{0, 1, 2, 3, 4, 5, 6, 7}}}}},
			Pending: []*model.Job{hi}}
		p := newPass(snap, 1000, nil, nil, nil, nil)
		p.run(NewQueue(f, snap.Pending), 0)
		want := 2 // within the ratio, then free of it
		if ratio == 0 {
			want = 1
		}
		if p.preemptScans != want {
			t.Errorf("victim_ratio %d: %d victim scans, want %d", ratio, p.preemptScans, want)
		}
		if pl := p.finish(); len(pl.Preemptions) != 0 {
			t.Errorf("victim_ratio %d: preemptions %+v; want none (reclaim spares work just started)", ratio, pl.Preemptions)
		}
	}
}
