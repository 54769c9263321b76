package sched

import (
	"cmp"
	"math"
	"slices"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/place"
)

// Raising the caps of running jobs (Policy.PowerRecap). A job started
// capped keeps its cap until a pass leaves power that no start took and
// no job waits (a quick pass that saw every waiting job started them
// all): then the pass raises it as far as every site, hall and rack its
// replicas draw from allows, and with power_share within the GPU's share
// of its site. Jobs of higher priority go first, then those running
// longest, then by ID. Caps are never lowered, so power given to a
// running job stays with it until it ends: work arriving later finds
// less, which is why the policy is off by default (docs/scheduling.md).
//
// A recap raises every replica to one cap, never below the highest cap
// a replica has now, and only by a step worth an NVML call and an event:
// a twentieth of the model's TDP, or all the way to TDP (the recap then
// lifts the cap).

// recapStep is the smallest raise, as a share of TDP, a recap makes
// short of lifting the cap.
const recapStep = 0.05

// recapFor is a running job that may be recapped.
type recapFor struct {
	a    *model.Allocation
	prio int
}

// recap adds the pass's recaps to the plan.
func (p *pass) recap() {
	if !p.pol.Power || !p.pol.PowerCapping || !p.pol.PowerRecap || p.tally == nil || p.tally.capped == 0 {
		return
	}
	if p.plan.Partial || len(p.plan.Pending) > 0 {
		return // power is wanted: caps are never lowered, so a recap would keep it from the queue
	}
	var cands []recapFor
	for i := range p.snap.Running {
		a := &p.snap.Running[i]
		if a.Job == nil || a.Terminating || p.victims[a.Job.ID] || !anyCapped(a.Replicas) {
			continue
		}
		cands = append(cands, recapFor{a, p.priority(a.Job)})
	}
	if len(cands) == 0 {
		return
	}
	slices.SortFunc(cands, func(x, y recapFor) int {
		if x.prio != y.prio {
			return cmp.Compare(y.prio, x.prio)
		}
		if x.a.Started != y.a.Started {
			return cmp.Compare(x.a.Started, y.a.Started)
		}
		return cmp.Compare(x.a.Job.ID, y.a.Job.ID)
	})
	started := make(map[string]bool, len(p.plan.Starts))
	for _, st := range p.plan.Starts {
		started[st.Job] = true // a deployment scaling up: its new replicas have their own cap
	}
	for _, cd := range cands {
		if !started[cd.a.Job.ID] {
			p.recapOne(cd.a)
		}
	}
}

func anyCapped(rs []model.Placement) bool {
	for _, r := range rs {
		if r.PowerCapW > 0 {
			return true
		}
	}
	return false
}

// recapOne raises a's cap as far as its containers allow, if that is
// worth it.
func (p *pass) recapOne(a *model.Allocation) {
	m, top := -1, 0 // the GPU model, the highest cap now
	nodes := make([]int, len(a.Replicas))
	for i, r := range a.Replicas {
		n, ok := p.c.NodeIndex[r.Node]
		if !ok || len(r.GPUs) == 0 || r.PowerCapW <= 0 {
			return // an unknown node, or a replica at TDP already: a recap lifts every replica at once
		}
		nd := &p.c.Nodes[n]
		if !nd.Up || nd.Nameplate || nd.Model < 0 || (m >= 0 && int(nd.Model) != m) {
			return // a node that takes no change, or one the server lost
		}
		m, nodes[i] = int(nd.Model), n
		top = max(top, r.PowerCapW)
	}
	gm := p.c.Models[m]
	if !gm.CanCap() {
		return
	}
	// Per container, with every replica at cap C the load grows by
	// Σ gpus × (C − cap now): it fits while
	// C ≤ (headroom + Σ gpus × cap now) / Σ gpus.
	type use struct {
		pw   *place.Power
		now  float64
		gpus int
	}
	var buf [8]use
	uses := buf[:0]
	add := func(pw *place.Power, now float64, gpus int) {
		for i := range uses {
			if uses[i].pw == pw {
				uses[i].now += now
				uses[i].gpus += gpus
				return
			}
		}
		uses = append(uses, use{pw, now, gpus})
	}
	limit := float64(gm.TDPWatts)
	for i, r := range a.Replicas {
		nd := &p.c.Nodes[nodes[i]]
		now := float64(len(r.GPUs)) * p.c.GPUWatts(m, r.PowerCapW)
		if nd.Site >= 0 {
			add(&p.c.Sites[nd.Site], now, len(r.GPUs))
			if p.pol.PowerShare {
				if share, ok := p.siteShare(int(nd.Site)); ok {
					limit = min(limit, float64(gm.IdleWatts)+share)
				}
			}
		}
		if nd.Hall >= 0 {
			add(&p.c.Halls[nd.Hall], now, len(r.GPUs))
		}
		if nd.Rack >= 0 {
			add(&p.c.Racks[nd.Rack], now, len(r.GPUs))
		}
	}
	for _, u := range uses {
		if u.pw.LimitW > 0 || u.pw.HasSpare {
			limit = min(limit, (u.pw.HeadroomFor(true)+u.now)/float64(u.gpus))
		}
	}
	newCap := 0 // lifted
	if limit < float64(gm.TDPWatts) {
		newCap = min(int(math.Floor(limit)), gm.MaxCapWatts)
		if float64(newCap-top) < recapStep*float64(gm.TDPWatts) {
			return
		}
	}
	added := 0.0
	for i, r := range a.Replicas {
		p.c.Recap(nodes[i], len(r.GPUs), r.PowerCapW, newCap)
		added += float64(len(r.GPUs)) * (p.c.GPUWatts(m, newCap) - p.c.GPUWatts(m, r.PowerCapW))
	}
	p.plan.Recaps = append(p.plan.Recaps, model.Recap{Job: a.Job.ID, PowerCapW: newCap, PowerW: added})
}
