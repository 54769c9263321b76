package server

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// usageFlushEvery is how often running jobs' energy counters are written.
const usageFlushEvery = 10 * time.Second

// integrate adds one telemetry sample per GPU to the energy of the job
// holding the GPU (idle GPUs count for the site, not for a job): power ×
// the time since the GPU's previous sample, at most three heartbeats
// (beatInterval), so a gap in reports is not filled with a guess. Times
// are the server's, when it received the samples: a sample's own time
// is its agent's clock, which may be ahead, behind or fast, and moves
// nothing (it is shown in the node's telemetry only). Caller holds mu.
func (s *Server) integrate(n *nodeState, samples []api.GPUSample, now time.Time) {
	holder := map[int]*jobState{}
	for id := range n.jobs {
		js := s.jobs[id]
		if js == nil {
			continue
		}
		for _, r := range js.doc.Replicas {
			if r.Node == n.doc.Name && r.State == api.ReplicaRunning {
				for _, g := range r.GPUs {
					holder[g] = js
				}
			}
		}
	}
	site := &s.fac.Sites[n.siteIdx]
	maxGap := 3 * s.beatInterval(n)
	for _, smp := range samples {
		last, seen := n.lastSample[smp.Index]
		n.lastSample[smp.Index] = now
		dt := now.Sub(last)
		if !seen || dt <= 0 {
			continue // its first sample, or another at the same instant
		}
		s.addEnergy(site, holder[smp.Index], smp.PowerW, now.Add(-min(dt, maxGap)), now)
	}
}

// beatInterval is how often n's agent reports: the server's interval,
// which agents take from every heartbeat's answer, or the one n was
// given at its registration (api.Node.HeartbeatSeconds), which an
// agent older than that keeps, whichever is longer, and at most the
// heartbeat timeout.
func (s *Server) beatInterval(n *nodeState) time.Duration {
	given := time.Duration(n.doc.HeartbeatSeconds * float64(time.Second))
	return max(s.cfg.Heartbeat, min(given, s.cfg.HeartbeatTimeout))
}

// addEnergy counts watts drawn from from to to in site, for job js
// (nil: an idle GPU, counted for the site only). Facility energy is IT
// energy × the site's PUE; cost and carbon are those of the site's grid
// hour, for each part of the interval in another hour. A part in an
// hour the site's series does not hold is counted unpriced: its cost
// and carbon are left out. Caller holds mu.
func (s *Server) addEnergy(site *model.Site, js *jobState, watts float64, from, to time.Time) {
	for from.Before(to) {
		end := from.Truncate(time.Hour).Add(time.Hour)
		if end.After(to) {
			end = to
		}
		itKWh := watts * end.Sub(from).Hours() / 1000
		fkWh := itKWh * site.PUE
		s.metrics.energy.WithLabelValues(site.ID).Add(fkWh)
		s.metrics.joules.WithLabelValues(site.ID).Add(fkWh * 3.6e6)
		price, carbon, ok := s.gridAt(site.GridZone, from)
		s.notePriced(site, from, ok)
		if !ok {
			s.metrics.unpriced.WithLabelValues(site.ID).Add(fkWh * 3.6e6)
		}
		if js != nil {
			u := &js.doc.Usage
			u.ITKWh += itKWh
			u.KWh += fkWh
			if ok {
				u.EUR += fkWh / 1000 * price
				u.GCO2e += fkWh * carbon
			} else {
				u.UnpricedKWh += fkWh
			}
			js.usageDirty = true
		}
		from = end
	}
}

// notePriced warns when site's energy, drawn at t, starts to go
// unpriced (once, until an hour is priced again). Caller holds mu.
func (s *Server) notePriced(site *model.Site, t time.Time, priced bool) {
	switch {
	case priced:
		delete(s.unpriced, site.ID)
	case !s.unpriced[site.ID]:
		s.unpriced[site.ID] = true
		s.log.Warn("energy is not priced: the site's grid series does not hold the hour; cost and carbon leave it out (carnot_energy_unpriced_joules_total counts it)",
			"site", site.ID, "zone", site.GridZone, "hour", t.UTC().Truncate(time.Hour))
	}
}

// flushUsage writes the energy counters of running jobs at most every
// usageFlushEvery. Caller holds mu.
func (s *Server) flushUsage(now time.Time, c *changes) {
	if now.Sub(s.lastFlush) < usageFlushEvery {
		return
	}
	s.lastFlush = now
	if err := s.saveFairShare(context.Background()); err != nil {
		s.log.Error("saving the fair-share history", "err", err)
	}
	s.dirtyUsage(c)
}

// dirtyUsage adds to c the jobs whose energy counters changed since
// they were last written. Caller holds mu.
func (s *Server) dirtyUsage(c *changes) {
	for _, js := range s.jobs {
		if js.usageDirty {
			js.usageDirty = false
			c.job(js, "", "")
		}
	}
}

// saveUsage writes, as the server stops, what flushUsage would write
// next: the fair-share history and the jobs' energy counters. Caller
// holds mu.
func (s *Server) saveUsage(ctx context.Context) error {
	err := s.saveFairShare(ctx)
	c := newChanges()
	s.dirtyUsage(c)
	if cerr := s.commit(ctx, c); cerr != nil {
		err = errors.Join(err, fmt.Errorf("saving the jobs' energy: %w", cerr))
	}
	return err
}

// gridAt is the price (EUR/MWh) and carbon intensity (g/kWh) of zone at
// t, when a series covers it.
func (s *Server) gridAt(zone string, t time.Time) (price, carbon float64, ok bool) {
	at := model.TimeOf(t)
	for _, g := range s.cfg.Grid {
		if g.Zone != zone || len(g.Hours) == 0 {
			continue
		}
		i := sort.Search(len(g.Hours), func(i int) bool { return g.Hours[i].Start > at }) - 1
		if i < 0 || at >= g.Hours[i].Start.Add(model.Hour) {
			return 0, 0, false
		}
		return g.Hours[i].PriceEURMWh, g.Hours[i].CarbonGkWh, true
	}
	return 0, 0, false
}

// saveFairShare saves the fair-share history when it changed. Caller
// holds mu.
func (s *Server) saveFairShare(ctx context.Context) error {
	if !s.usageDirty {
		return nil
	}
	us := make([]model.Usage, 0, len(s.usage))
	for _, t := range sortedKeys(s.usage) {
		us = append(us, *s.usage[t])
	}
	if err := s.store.SaveFairShare(ctx, us); err != nil {
		return err
	}
	s.usageDirty = false
	return nil
}
