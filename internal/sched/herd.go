package sched

import (
	"slices"

	"github.com/carnot-dc/carnot/internal/model"
)

// Deferred jobs book their hours (Policy.NoDeferralBooking turns it
// off). Scored alone, every flexible job picks the same cheapest hours,
// and more of them wait for those hours than the facility can run at
// once: the ones that do not fit start late, and some miss their
// deadlines. So a job the pass defers books the GPUs it will need from
// its chosen hour to its runtime limit, and a job the pass decides later
// takes the best-scored start, now included, whose GPUs, counted, are
// not all taken: the free GPUs of the pools it may use, plus what
// running work (and the pass's starts) gives back by then, less the most
// that jobs deferred before it hold at once over its run there. Counts
// only: the room may still fall short (power, topology, CPUs, work that
// arrives meanwhile, jobs ending before their limits), as without
// booking. A pass decides its jobs in scheduling order, so earlier jobs
// keep the best hours.

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
		for pi := range p.c.Pools {
			pool := &p.c.Pools[pi]
			if pool.Model == m && (sites == nil || sites[pool.Site]) {
				in[pi] = true
			}
		}
	}
	return in
}

// poolsFreeBy is, for each of the ascending instants at, the GPUs free in the
// pools marked in in by then: those of their up nodes free now, plus
// those running work gives back by then.
func (p *pass) poolsFreeBy(in []bool, at []model.Time) []int64 {
	var now int64
	for pi := range p.c.Pools {
		if !in[pi] {
			continue
		}
		pool := &p.c.Pools[pi]
		now += int64(pool.Free)
		if pool.Down > 0 {
			for _, n := range pool.Nodes {
				if nd := &p.c.Nodes[n]; !nd.Up {
					now -= int64(nd.Free)
				}
			}
		}
	}
	if !p.relBuilt {
		p.buildReleases()
	}
	p.sortReleases()
	out := make([]int64, len(at))
	r, got := 0, now
	for i, t := range at {
		for ; r < len(p.releases) && p.releases[r].at <= t; r++ {
			rel := &p.releases[r]
			for k := range rel.reps {
				if n, ok := p.releaseNode(rel, k); ok && p.c.Nodes[n].Up && p.c.Nodes[n].Pool >= 0 && in[p.c.Nodes[n].Pool] {
					got += int64(len(rel.reps[k].GPUs))
				}
			}
		}
		out[i] = got
	}
	return out
}

// booked is the most GPUs the bookings on pools sharing one with in hold
// at once over [from, to).
func (p *pass) booked(in []bool, from, to model.Time) int64 {
	var over []*booking
	for i := range p.bookings {
		b := &p.bookings[i]
		if b.from < to && b.to > from && sharesPool(b.pools, in) {
			over = append(over, b)
		}
	}
	var most int64
	at := func(t model.Time) {
		var n int64
		for _, b := range over {
			if b.from <= t && t < b.to {
				n += b.gpus
			}
		}
		most = max(most, n)
	}
	at(from) // the sum changes only where a booking begins
	for _, b := range over {
		if b.from > from {
			at(b.from)
		}
	}
	return most
}

func sharesPool(a, b []bool) bool {
	for i := range a {
		if a[i] && b[i] {
			return true
		}
	}
	return false
}

// bookedBest is the index of the best-scored start (lowest score, the
// earliest among equals) at which j's GPUs, counted, are not all taken:
// now (start 0) included, so that a flexible job that finds no room now
// waits for an hour with room rather than in the queue, where it could
// preempt. When no start has room, it is the best-scored one, as without
// booking. A job waiting for its preemption victims has room now.
// skipped lists the better starts passed over.
func (p *pass) bookedBest(j *model.Job, sites []bool, starts []model.Time, score func(int) float64) (best int, skipped []int) {
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
	need := int64(j.TotalGPUs())
	if need == 0 || p.pol.NoDeferralBooking {
		return order[0], nil
	}
	in := p.deferralPools(j, sites)
	free := p.poolsFreeBy(in, starts)
	// A job waiting for its preemption victims has its room now: what
	// they free is its. Deferred for want of it, it held nothing while
	// they left, later jobs took the rest of its room, and its victims
	// lost their work for nothing.
	victims := len(p.waitingFor[j.ID]) > 0
	for k, i := range order {
		if i == 0 && victims || free[i]-p.booked(in, starts[i], starts[i].Add(j.RuntimeLimit)) >= need {
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
	}
}
