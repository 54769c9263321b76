package sched

import (
	"math/bits"
	"slices"

	"github.com/carnot-dc/carnot/internal/model"
)

// Deferred jobs book their hours (Policy.NoDeferralBooking turns it
// off). Scored alone, every flexible job picks the same cheapest hours,
// and more of them wait for those hours than the facility can run at
// once: the ones that do not fit start late, and some miss their
// deadlines. So a job the pass defers books the GPUs it will need from
// its chosen hour to its runtime limit, and a job the pass decides later
// takes the best-scored start, now included, whose GPUs, counted on
// one of its models, are not all taken: the free GPUs of that model's
// pools it may use, plus what running work (and the pass's starts)
// gives back by then (a preemption's victims once their beneficiary is
// done), less the most that jobs deferred before it hold at once over
// its run there. Counts only: the room may still fall short (power,
// topology, CPUs, work that arrives meanwhile, jobs ending before their
// limits), as without booking. A pass decides its jobs in scheduling
// order, so earlier jobs keep the best hours.

// booking is the GPUs a job the pass deferred holds over [from, to) in
// the pools marked in pools (indices of place.Cluster.Pools).
type booking struct {
	from, to model.Time
	gpus     int64
	pools    []bool
}

// deferralPools marks the pools j may use: a model it accepts on a site
// it may use.
func (p *pass) deferralPools(j *model.Job, sites []bool) []bool {
	in := make([]bool, len(p.c.Pools))
	for _, m := range p.modelsFor(j) {
		p.markPools(in, m, sites)
	}
	return in
}

// markPools marks in in the pools of model m on the sites marked in
// sites (all when nil), and reports whether there are any.
func (p *pass) markPools(in []bool, m int, sites []bool) bool {
	any := false
	for pi := range p.c.Pools {
		pool := &p.c.Pools[pi]
		if pool.Model == m && (sites == nil || sites[pool.Site]) {
			in[pi], any = true, true
		}
	}
	return any
}

// herdIndex counts, at deferral's candidate starts (now and each whole
// hour after it), the GPUs running work gives back by then, per pool,
// and the GPUs the bookings hold then, per set of pools a job may use.
// A question then costs the starts it asks about, not the pass's
// releases and bookings: scanning those for each flexible job made a
// pass over 200,000 jobs of which 19,000 flexible on the 80,000-GPU
// facility 80 times slower (BenchmarkDeferralBooking). Slot 0 is now;
// slot k ≥ 1 is the whole hour h0 + (k-1) hours; the slots reach the
// latest start asked about so far (grow). A booking begins on a start,
// so what bookings hold at once over a run is at its most at a slot's
// instant.
type herdIndex struct {
	h0       model.Time
	slots    int
	downFree []int64   // per pool: free GPUs of its nodes that are not up, and free GPUs down of those up
	rel      [][]int64 // per pool and slot: GPUs given back after the slot before, by its instant
	groups   []bookGroup
	byKey    map[string]int
	// victimAt: when the GPUs of the jobs leaving for a preemption come
	// back (see victimBack)
	victimAt map[string]model.Time
}

// bookGroup is the GPUs that bookings on pools sharing one with pools
// hold at each slot's instant.
type bookGroup struct {
	pools []bool
	load  []int64
}

// herdIdx makes the index on first use in the pass; addRelease counts
// later releases.
func (p *pass) herdIdx() *herdIndex {
	if p.herd != nil {
		return p.herd
	}
	if !p.relBuilt {
		p.buildReleases()
	}
	h := &herdIndex{h0: (p.now/3600 + 1) * 3600, byKey: map[string]int{}}
	h.downFree = make([]int64, len(p.c.Pools))
	h.rel = make([][]int64, len(p.c.Pools))
	for pi := range p.c.Pools {
		pool := &p.c.Pools[pi]
		for _, n := range pool.Nodes {
			switch nd := &p.c.Nodes[n]; {
			case !nd.Up:
				h.downFree[pi] += int64(nd.Free)
			case nd.GPUsDown != 0: // free GPUs down take nothing, as a node down's
				h.downFree[pi] += int64(bits.OnesCount64(nd.GPUsDown &^ nd.Busy))
			}
		}
	}
	p.herd = h
	h.victimAt = map[string]model.Time{}
	for b, ws := range p.waitingFor {
		for _, a := range ws {
			p.victimBack(a.Job.ID, b, a.EvictAt)
		}
	}
	for i := range p.plan.Preemptions {
		// A partial preemption's victim keeps its other replicas, as in
		// evict: only its leaving part's GPUs go to the beneficiary.
		if pr := &p.plan.Preemptions[i]; !pr.Partial() {
			p.victimBack(pr.Victim, pr.Beneficiary, pr.EvictAt)
		}
	}
	return h
}

// victimBack notes that the GPUs of victim, leaving at evictAt for
// beneficiary, come back at the end of the beneficiary's runtime limit
// after the eviction (never, without one), not when the victim leaves:
// they are the beneficiary's, which starts on them. Counted back at the
// eviction, a flexible job was deferred to an hour its GPUs were the
// beneficiary's. A beneficiary no longer pending takes nothing.
func (p *pass) victimBack(victim, beneficiary string, evictAt model.Time) {
	if p.src == nil {
		return
	}
	if b, ok := p.src.Get(beneficiary); ok {
		at := model.Forever
		if b.RuntimeLimit > 0 {
			at = max(p.now, evictAt).Add(b.RuntimeLimit)
		}
		if was, ok := p.herd.victimAt[victim]; ok { // a deployment's allocations: the last back
			at = max(at, was)
		}
		p.herd.victimAt[victim] = at
	}
}

// herdEvict moves the release of a victim the pass has just chosen to
// when its GPUs come back (victimBack).
func (p *pass) herdEvict(victim, beneficiary string, evictAt model.Time) {
	if p.herd == nil {
		return
	}
	p.herdCountVictim(victim, -1)
	p.victimBack(victim, beneficiary, evictAt)
	p.herdCountVictim(victim, 1)
}

// herdCountVictim adds (sign 1) or takes back (-1) victim's releases
// and what it leaves without one (pass.leaving) over all slots.
func (p *pass) herdCountVictim(victim string, sign int64) {
	for i := range p.releases {
		if r := &p.releases[i]; r.job.ID == victim {
			p.herdCount(r, 0, p.herd.slots, sign)
		}
	}
	for i := range p.leaving {
		if r := &p.leaving[i]; r.job.ID == victim {
			p.herdCount(r, 0, p.herd.slots, sign)
		}
	}
}

// herdReleaseAt is when release r's GPUs are free to count: at r.at, or
// for a running allocation leaving for a preemption, when its
// beneficiary is done with them; false for never.
func (p *pass) herdReleaseAt(r *release) (model.Time, bool) {
	at := r.at
	if r.idx >= 0 || r.h != nil || r.at == model.Forever { // a running allocation's, not a start's
		if v, ok := p.herd.victimAt[r.job.ID]; ok {
			at = v
		}
	}
	return at, at < model.Forever
}

// herdGrow makes the slots reach slot n-1 at least, counting the
// releases and bookings of the new ones.
func (p *pass) herdGrow(n int) {
	h := p.herdIdx()
	if n <= h.slots {
		return
	}
	lo, hi := h.slots, max(n, 2*h.slots)
	h.slots = hi
	for pi := range h.rel {
		h.rel[pi] = append(h.rel[pi], make([]int64, hi-lo)...)
	}
	for i := range p.releases {
		p.herdCount(&p.releases[i], lo, hi, 1)
	}
	for i := range p.leaving {
		p.herdCount(&p.leaving[i], lo, hi, 1)
	}
	for gi := range h.groups {
		g := &h.groups[gi]
		g.load = append(g.load, make([]int64, hi-lo)...)
		for i := range p.bookings {
			p.addLoad(g, &p.bookings[i], lo, hi)
		}
	}
}

// slotFrom is the first slot whose instant is at or after t.
func (h *herdIndex) slotFrom(now, t model.Time) int {
	switch {
	case t <= now:
		return 0
	case t <= h.h0:
		return 1
	}
	return 1 + int((t-h.h0+3599)/3600)
}

// herdCount adds (sign 1) or takes back (-1) release r, if its slot is
// in [lo, hi), on the up nodes of the pools it frees.
func (p *pass) herdCount(r *release, lo, hi int, sign int64) {
	at, ok := p.herdReleaseAt(r)
	if !ok {
		return
	}
	k := p.herd.slotFrom(p.now, at)
	if k < lo || k >= hi {
		return
	}
	for i := range r.reps {
		if n, ok := p.releaseNode(r, i); ok && p.c.Nodes[n].Up && p.c.Nodes[n].Pool >= 0 {
			nd := &p.c.Nodes[n]
			back := len(r.reps[i].GPUs)
			if nd.GPUsDown != 0 { // a GPU down given back is still down
				for _, g := range r.reps[i].GPUs {
					if g >= 0 && g < 64 && nd.GPUsDown&(1<<g) != 0 {
						back--
					}
				}
			}
			p.herd.rel[nd.Pool][k] += sign * int64(back)
		}
	}
}

// poolsFreeBy is, for each of the ascending starts at, the GPUs free in
// the pools marked in in by then: those of their up nodes free now, plus
// those running work gives back by then.
func (p *pass) poolsFreeBy(in []bool, at []model.Time) []int64 {
	h := p.herdIdx()
	p.herdGrow(h.slotFrom(p.now, at[len(at)-1]) + 1)
	var pools []int
	var got int64
	for pi := range p.c.Pools {
		if in[pi] {
			pools = append(pools, pi)
			got += int64(p.c.Pools[pi].Free) - h.downFree[pi]
		}
	}
	out := make([]int64, len(at))
	k := 0
	for i, t := range at {
		for s := h.slotFrom(p.now, t); k <= s; k++ {
			for _, pi := range pools {
				got += h.rel[pi][k]
			}
		}
		out[i] = got
	}
	return out
}

// bookGroupOf is the index of the group of the pools marked in in, made
// from the bookings so far when new.
func (p *pass) bookGroupOf(in []bool) int {
	h := p.herdIdx()
	key := make([]byte, len(in))
	for i, b := range in {
		if b {
			key[i] = 1
		}
	}
	if g, ok := h.byKey[string(key)]; ok {
		return g
	}
	h.byKey[string(key)] = len(h.groups)
	h.groups = append(h.groups, bookGroup{pools: in, load: make([]int64, h.slots)})
	g := &h.groups[len(h.groups)-1]
	for i := range p.bookings {
		p.addLoad(g, &p.bookings[i], 0, h.slots)
	}
	return len(h.groups) - 1
}

// addLoad adds booking b to g's load over the slots in [lo, hi) it
// covers, if it shares a pool with g.
func (p *pass) addLoad(g *bookGroup, b *booking, lo, hi int) {
	if !sharesPool(b.pools, g.pools) {
		return
	}
	h := p.herd
	for k := max(lo, h.slotFrom(p.now, b.from)); k < min(h.slotFrom(p.now, b.to), hi); k++ {
		g.load[k] += b.gpus
	}
}

// booked is the most GPUs the bookings on pools sharing one with group
// gi's hold at once over [from, to), from a start: at the slots in it,
// up to the last, as none begins after it.
func (p *pass) booked(gi int, from, to model.Time) int64 {
	h := p.herd
	g := &h.groups[gi]
	var most int64
	for k := h.slotFrom(p.now, from); k < min(h.slotFrom(p.now, to), h.slots); k++ {
		most = max(most, g.load[k])
	}
	return most
}

// herdCheck, when set (the tests), is given each job's counts to compare
// with a naive count.
var herdCheck func(p *pass, j *model.Job, in []bool, starts []model.Time, free []int64, booked func(i int) int64)

func sharesPool(a, b []bool) bool {
	for i := range a {
		if a[i] && b[i] {
			return true
		}
	}
	return false
}

// bookedBest is the index of the best-scored start (lowest score, the
// earliest among equals) at which j's GPUs, counted on one model, are
// not all taken:
// now (start 0) included, so that a flexible job that finds no room now
// waits for an hour with room rather than in the queue, where it could
// preempt. When no start has room, it is the best-scored one, as without
// booking. A job waiting for its preemption victims has room now.
// skipped lists the better starts passed over.
func (p *pass) bookedBest(j *model.Job, sites []bool, starts []model.Time, score func(int) float64) (best int, skipped []int) {
	need := int64(j.TotalGPUs())
	if need == 0 || p.pol.NoDeferralBooking {
		// the first start strictly better than every earlier one, as
		// before booking (the sort below is by scores within 1e-9, which
		// a chain of near-ties can order otherwise)
		for i := range starts {
			if score(i) < score(best)-1e-9 {
				best = i
			}
		}
		return best, nil
	}
	order := make([]int, len(starts))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		sa, sb := score(a), score(b)
		switch {
		case sa < sb-1e-9:
			return -1
		case sb < sa-1e-9:
			return 1
		}
		return 0
	})
	// Its GPUs are all of one model (plan.Verify's gang-model): the
	// models are counted one at a time, each less every booking that may
	// use one of its pools.
	type count struct {
		free []int64
		g    int
	}
	var counts []count
	for _, m := range p.modelsFor(j) {
		in := make([]bool, len(p.c.Pools))
		if !p.markPools(in, m, sites) {
			continue
		}
		c := count{p.poolsFreeBy(in, starts), p.bookGroupOf(in)}
		counts = append(counts, c)
		if herdCheck != nil {
			herdCheck(p, j, in, starts, c.free, func(i int) int64 { return p.booked(c.g, starts[i], starts[i].Add(j.RuntimeLimit)) })
		}
	}
	room := func(i int) bool {
		for _, c := range counts {
			if c.free[i]-p.booked(c.g, starts[i], starts[i].Add(j.RuntimeLimit)) >= need {
				return true
			}
		}
		return false
	}
	// A job waiting for its preemption victims has its room now: what
	// they free is its. Deferred for want of it, it held nothing while
	// they left, later jobs took the rest of its room, and its victims
	// lost their work for nothing.
	victims := len(p.waitingFor[j.ID]) > 0
	for k, i := range order {
		if i == 0 && victims || room(i) {
			return i, order[:k]
		}
	}
	return order[0], nil // no start has room, counted: the best one
}

// book records j's GPUs as held from its deferred start to its runtime
// limit.
func (p *pass) book(j *model.Job, sites []bool, from model.Time) {
	if need := int64(j.TotalGPUs()); need > 0 && !p.pol.NoDeferralBooking {
		p.bookings = append(p.bookings, booking{from: from, to: from.Add(j.RuntimeLimit), gpus: need, pools: p.deferralPools(j, sites)})
		h := p.herdIdx()
		for i := range h.groups {
			p.addLoad(&h.groups[i], &p.bookings[len(p.bookings)-1], 0, h.slots)
		}
	}
}
