package sched

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/carnot-dc/carnot/internal/model"
)

// deferral decides whether a flexible job (one with a deadline) should
// wait for a cleaner or cheaper hour. It scores every whole-hour start
// from now to the latest start that still meets the deadline (at the
// lowest power cap, when the policy may cap the job) by the
// job's average carbon intensity and price over its runtime (each
// range-normalised over the window, weighted by Policy.CarbonWeight), in
// the best grid zone among the sites the job may use, and defers to the
// best hour if it beats starting now. Jobs without series are not
// deferred.
func (p *pass) deferral(j *model.Job, sites []bool) (model.Time, string, bool) {
	if !p.pol.Deferral || !j.Flexible() || j.RuntimeLimit <= 0 || len(p.snap.Grid) == 0 {
		return 0, "", false
	}
	// The latest start is the one that still meets the deadline if the
	// job has to start at its lowest power cap, when the policy may cap
	// it (capspeed.go). Deferral keeps clear of the urgency window before
	// it, so that a job whose chosen hour turns out busy still has an
	// hour in which it goes first (see urgencyWindow).
	latest := p.stretch.latestStart(j) - model.Time(urgencyWindow)
	if latest <= p.now {
		return 0, "", false
	}
	series := p.zonesFor(j, sites)
	if len(series) == 0 {
		return 0, "", false
	}
	// candidate starts: now and every later whole hour up to the latest
	// start, and no further than the series cover
	cover := p.now
	for _, gs := range series {
		cover = max(cover, gs.Hours[len(gs.Hours)-1].Start+3600-model.Time(j.RuntimeLimit))
	}
	starts := []model.Time{p.now}
	for h := (p.now/3600 + 1) * 3600; h <= min(latest, cover); h += 3600 {
		starts = append(starts, h)
	}
	w := math.Min(1, math.Max(0, p.pol.CarbonWeight))
	// average carbon and price per zone and start; NaN where a zone's
	// series does not cover the run
	nz := len(series)
	cs, ps := make([]float64, nz*len(starts)), make([]float64, nz*len(starts))
	for z, gs := range series {
		for i, t := range starts {
			c, pr, have := windowAverage(gs, t, t.Add(j.RuntimeLimit))
			if !have {
				c, pr = math.NaN(), math.NaN()
			}
			cs[z*len(starts)+i], ps[z*len(starts)+i] = c, pr
		}
	}
	// one normalisation over all zones, so a flat zone cannot hide a
	// cleaner one
	nc, np := normalise(cs), normalise(ps)
	type score struct{ s, carbon, price float64 }
	scores := make([]score, len(starts))
	for i := range scores {
		scores[i].s = math.Inf(1)
		for z := 0; z < nz; z++ {
			k := z*len(starts) + i
			if math.IsNaN(cs[k]) {
				continue
			}
			if s := w*nc[k] + (1-w)*np[k]; s < scores[i].s {
				scores[i] = score{s, cs[k], ps[k]}
			}
		}
	}
	if math.IsInf(scores[0].s, 1) {
		return 0, "", false
	}
	// the best start whose GPUs jobs deferred earlier in the pass have
	// not all booked (herd.go)
	best, skipped := p.bookedBest(j, sites, starts, func(i int) float64 { return scores[i].s })
	if best == 0 {
		return 0, "", false
	}
	p.book(j, sites, starts[best])
	b, n := scores[best], scores[0]
	msg := fmt.Sprintf(
		"deferred: starting %s averages %.0f gCO2e/kWh and %.1f €/MWh vs %.0f and %.1f now; deadline %s",
		starts[best], b.carbon, b.price, n.carbon, n.price, j.Deadline)
	switch {
	case slices.Contains(skipped, 0) && len(skipped) == 1:
		msg += "; its GPUs are not free now (counting running work and the jobs deferred before it)"
	case slices.Contains(skipped, 0):
		msg += fmt.Sprintf("; its GPUs are not free now nor at %d better start(s) (counting running work and the jobs deferred before it)", len(skipped)-1)
	case len(skipped) > 0:
		msg += fmt.Sprintf("; %d better start(s) have no GPUs left for it (counting running work and the jobs deferred before it)", len(skipped))
	}
	return starts[best], msg, true
}

// zonesFor returns the grid series of the zones of sites the job may use
// and that have a model it accepts, in zone order.
func (p *pass) zonesFor(j *model.Job, sites []bool) []*model.GridSeries {
	want := map[string]bool{}
	for _, m := range p.modelsFor(j) {
		for pi := range p.c.Pools {
			pool := &p.c.Pools[pi]
			if pool.Model == m && (sites == nil || sites[pool.Site]) {
				want[p.fac.Sites[pool.Site].GridZone] = true
			}
		}
	}
	var out []*model.GridSeries
	for i := range p.snap.Grid {
		if want[p.snap.Grid[i].Zone] && len(p.snap.Grid[i].Hours) > 0 {
			out = append(out, &p.snap.Grid[i])
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Zone < out[b].Zone })
	return out
}

// windowAverage is the time-weighted mean carbon and price over [from,
// to) of an hourly series that starts on an hour and has no gaps.
func windowAverage(gs *model.GridSeries, from, to model.Time) (carbon, price float64, ok bool) {
	h0 := gs.Hours[0].Start
	if from < h0 || to > h0+model.Time(3600*len(gs.Hours)) || to <= from {
		return 0, 0, false
	}
	var total float64
	for t := from; t < to; {
		i := int((t - h0) / 3600)
		end := min(h0+model.Time(3600*(i+1)), to)
		d := float64(end - t)
		carbon += gs.Hours[i].CarbonGkWh * d
		price += gs.Hours[i].PriceEURMWh * d
		total += d
		t = end
	}
	return carbon / total, price / total, true
}

// normalise maps values onto [0, 1] by their range (0 when flat).
func normalise(v []float64) []float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range v {
		if !math.IsNaN(x) {
			lo, hi = math.Min(lo, x), math.Max(hi, x)
		}
	}
	out := make([]float64, len(v))
	for i, x := range v {
		switch {
		case math.IsNaN(x):
			out[i] = math.NaN()
		case hi-lo >= 1e-12:
			out[i] = (x - lo) / (hi - lo)
		}
	}
	return out
}
