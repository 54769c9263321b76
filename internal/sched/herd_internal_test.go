package sched

import (
	"fmt"

	"github.com/carnot-dc/carnot/internal/model"
)

// The naive counts the index of herd.go replaces: every release and
// every booking scanned for each question.

func naiveFreeBy(p *pass, in []bool, at []model.Time) []int64 {
	var now int64
	for pi := range p.c.Pools {
		if !in[pi] {
			continue
		}
		pool := &p.c.Pools[pi]
		now += int64(pool.Free)
		for _, n := range pool.Nodes {
			nd := &p.c.Nodes[n]
			if !nd.Up {
				now -= int64(nd.Free)
				continue
			}
			for g := range nd.NGPU { // free GPUs down
				if nd.GPUsDown&(1<<g) != 0 && nd.Busy&(1<<g) == 0 {
					now--
				}
			}
		}
	}
	out := make([]int64, len(at))
	for i, t := range at {
		got := now
		for _, rel := range append(append([]*release(nil), ptrs(p.releases)...), ptrs(p.leaving)...) {
			if at, ok := p.herdReleaseAt(rel); !ok || at > t {
				continue
			}
			for k := range rel.reps {
				if n, ok := p.releaseNode(rel, k); ok && p.c.Nodes[n].Up && p.c.Nodes[n].Pool >= 0 && in[p.c.Nodes[n].Pool] {
					for _, g := range rel.reps[k].GPUs {
						if g < 0 || p.c.Nodes[n].GPUsDown&(1<<g) == 0 { // a GPU down given back is still down
							got++
						}
					}
				}
			}
		}
		out[i] = got
	}
	return out
}

func ptrs(rs []release) []*release {
	out := make([]*release, len(rs))
	for i := range rs {
		out[i] = &rs[i]
	}
	return out
}

func naiveBooked(p *pass, in []bool, from, to model.Time) int64 {
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

// HerdChecks counts the questions compared since SetCheckHerd(true), those
// with a booking held over the run, and describes the first difference.
type HerdChecks struct {
	Questions, Booked int
	Wrong             string
}

// SetCheckHerd makes every deferral's counts be compared with naive ones
// into the HerdChecks returned; off when on is false.
func SetCheckHerd(on bool) *HerdChecks {
	if !on {
		herdCheck = nil
		return nil
	}
	c := &HerdChecks{}
	herdCheck = func(p *pass, j *model.Job, in []bool, starts []model.Time, free []int64, booked func(int) int64) {
		want := naiveFreeBy(p, in, starts)
		for i := range starts {
			c.Questions++
			wb := naiveBooked(p, in, starts[i], starts[i].Add(j.RuntimeLimit))
			if wb > 0 {
				c.Booked++
			}
			if (free[i] != want[i] || booked(i) != wb) && c.Wrong == "" {
				c.Wrong = fmt.Sprintf("at %s (now %s): free %d, naive %d; booked %d, naive %d", starts[i], p.now, free[i], want[i], booked(i), wb)
			}
		}
	}
	return c
}
