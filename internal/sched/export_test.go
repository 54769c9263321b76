package sched

import (
	"fmt"
	"math/rand/v2"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/place"
)

// QueueSyncs reports how often Quick rebuilt q's cluster view and how
// often it brought it up to date by difference.
func QueueSyncs(q *Queue) (rebuilds, diffs int) { return q.base.rebuilds, q.base.diffs }

// QueueClaimSkips is how many times a sync found a claimed node's
// restrictions still right (claimsSeen).
func QueueClaimSkips(q *Queue) int { return q.base.claimSkips }

// QueueHints reports how many estimates on q's passes started from a
// hint, and how many of those hints pointed at the first fit.
func QueueHints(q *Queue) (used, right int) { return q.prep.hints.used, q.prep.hints.right }

// QueueMemoHits is how many estimates q's passes took from the memo.
func QueueMemoHits(q *Queue) int { return q.prep.memos.hits }

// QueueFindHits is how many gang placements q's passes took from the memo.
func QueueFindHits(q *Queue) int { return q.prep.finds.hits }

// QueueElsewhereHits is how many sovereignty answers (where a blocked
// job would fit but for its jurisdictions) q's passes took from the memo.
func QueueElsewhereHits(q *Queue) int { return q.prep.elsewhere.hits }

// SetCheckMemo makes every estimate taken from the memo be made again and
// compared; a difference panics.
func SetCheckMemo(on bool) { checkMemo = on }

// SetShortcuts turns earliest's shortcuts on or off.
func SetShortcuts(on bool) { shortcuts = on }

// PowerParts is the power part of each node of snap's facility.
func PowerParts(snap *model.Snapshot) []int32 { return newPowerParts(place.New(snap, nil)).node }

// CheckRoomUnderHolds draws holds (on free and busy GPUs alike), windows
// and requests on the cluster of a fresh pass over snap, and compares
// roomUnderHolds with a probe that applies the holds and runs Find. It
// returns how many it compared, how many roomUnderHolds ruled out, and
// the first one it ruled out although Find fits ("" when none).
func CheckRoomUnderHolds(snap *model.Snapshot, now model.Time, seed uint64) (checks, ruledOut int, wrong string) {
	p := newPass(snap, now, nil, nil, nil, nil)
	c := p.c
	rng := rand.New(rand.NewPCG(seed, 0x4001d))
	if len(c.Nodes) == 0 || len(snap.Facility.Tenants) == 0 {
		return 0, 0, ""
	}
	tenant := func() string { return snap.Facility.Tenants[rng.IntN(len(snap.Facility.Tenants))].Name }
	hour := model.Duration(model.Hour)
	for range 40 {
		p.holds = p.holds[:0]
		for range rng.IntN(6) {
			start := now.Add(model.Duration(rng.IntN(10)) * hour)
			h := hold{start: start, end: start.Add(model.Duration(1+rng.IntN(10)) * hour),
				job: &model.Job{ID: "hold", Tenant: tenant(), CPUsPerReplica: rng.IntN(8), MemGiBPerReplica: rng.IntN(64)}}
			for range 1 + rng.IntN(6) {
				n := rng.IntN(len(c.Nodes))
				var gpus []int
				for g := range c.Nodes[n].NGPU + 1 { // one past the end: Alloc skips it
					if rng.IntN(2) == 0 {
						gpus = append(gpus, g)
					}
				}
				h.slots = append(h.slots, place.Slot{Node: n, GPUs: gpus})
			}
			h.masks = heldMasks(c, h.slots)
			p.holds = append(p.holds, h)
		}
		nd := &c.Nodes[rng.IntN(len(c.Nodes))]
		req := place.Request{Tenant: tenant(), Model: nd.Model, Replicas: 1 + rng.IntN(4), GPUs: 1 + rng.IntN(8),
			Level: place.NumLevels, Probe: true}
		if rng.IntN(3) == 0 && nd.Site >= 0 { // around the site's headroom
			req.MinWattsPerReplica = c.Sites[nd.Site].Headroom() * (0.5 + rng.Float64())
		}
		at := now.Add(model.Duration(rng.IntN(12)) * hour)
		end := at.Add(model.Duration(1+rng.IntN(6)) * hour)
		room := p.roomUnderHolds(&req, p.holds, at, end)
		tl := p.newTimeline(nil)
		fits := tl.probe(0, at, end, false, func(c *place.Cluster) bool { r := c.Find(&req); return r.OK() })
		c.Rollback()
		checks++
		if !room {
			ruledOut++
			if fits && wrong == "" {
				wrong = fmt.Sprintf("request %+v at %s–%s with %d holds: ruled out, but Find fits", req, at, end, len(p.holds))
			}
		}
	}
	return checks, ruledOut, wrong
}

// SlowestRun is the core's model.SlowestRun on fac's capped speeds.
func SlowestRun(fac *model.Facility, j *model.Job) model.Duration { return newStretch(fac).run(j) }
