package sched_test

import (
	"fmt"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// benchGrid is 48 hourly prices and carbons per zone of fac from the
// hour before now, cheapest in the night.
func benchGrid(fac *model.Facility, now model.Time) []model.GridSeries {
	zones := map[string]bool{}
	var out []model.GridSeries
	for _, s := range fac.Sites {
		if zones[s.GridZone] {
			continue
		}
		zones[s.GridZone] = true
		h0 := (now/3600 - 1) * 3600
		hours := make([]model.GridHour, 48)
		for i := range hours {
			v := float64(20 + (i*37)%90)
			hours[i] = model.GridHour{Start: h0 + model.Time(3600*i), PriceEURMWh: v, CarbonGkWh: 2 * v}
		}
		out = append(out, model.GridSeries{Zone: s.GridZone, Hours: hours})
	}
	return out
}

// BenchmarkDeferralBooking: the facility is full after a first pass over
// 100,000 jobs; the next pass runs over the pending ones (a tenth of
// them flexible) with hourly grid series, booking on and off:
//
//	go test ./internal/sched -run '^$' -bench DeferralBooking -benchtime 1x
//
// Scanning every release and booking for each flexible job, the pass
// with booking took 51 s (0.6 s without); counted by start, 0.6 s.
func BenchmarkDeferralBooking(b *testing.B) {
	fac0, all := benchFixture(b)
	now := latest(all)
	jobs := all[:200_000]
	first := sched.Schedule(&model.Snapshot{Facility: fac0, Pending: jobs[:100_000], Seed: 1}, now)
	byID := map[string]*model.Job{}
	for _, j := range jobs {
		byID[j.ID] = j
	}
	started := map[string]bool{}
	var running []model.Allocation
	for _, s := range first.Starts {
		running = append(running, model.Allocation{Job: byID[s.Job], Started: now - 3600, Replicas: s.Replicas})
		started[s.Job] = true
	}
	var pending []*model.Job
	flex := 0
	for _, j := range jobs {
		if !started[j.ID] {
			if j.Deadline > 0 { // its window from now
				c := *j
				c.Deadline = now.Add(c.RuntimeLimit + model.Duration(2+flex%23)*model.Hour)
				j = &c
				flex++
			}
			pending = append(pending, j)
		}
	}
	b.Logf("running %d, pending %d (%d flexible)", len(running), len(pending), flex)
	for _, off := range []bool{false, true} {
		fac := *fac0
		fac.Policy.NoDeferralBooking = off
		snap := &model.Snapshot{Facility: &fac, Pending: pending, Running: running, Grid: benchGrid(&fac, now), Seed: 1}
		b.Run(fmt.Sprintf("booking=%v", !off), func(b *testing.B) {
			var deferred int
			for b.Loop() {
				p := sched.Schedule(snap, now+60)
				deferred = len(p.Deferrals)
			}
			b.ReportMetric(float64(deferred), "deferrals/pass")
		})
	}
}
