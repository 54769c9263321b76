package sched

import (
	"cmp"
	"slices"

	"github.com/carnot-dc/carnot/internal/model"
)

// Lending power to running jobs (Policy.PowerRecap). A job started capped
// runs on its own cap; the power a pass leaves after its starts is lent
// to such jobs by raising their caps (a recap), and taken back as soon as
// a start needs it:
//
//   - Before planning, the pass takes back every loan it can: it plans on
//     the snapshot with each lent replica at its own cap
//     (Placement.OwnCapW). Starts, estimates and preemption all see that
//     power as free, so a start never waits or preempts for lent power.
//   - After every start, the pass lends what is left: running capped jobs,
//     highest priority first, then those running longest, then by ID,
//     each to one cap that every site, hall and rack it draws from allows
//     (and the GPU's share of its site with power_share).
//   - The plan's recaps are the jobs whose cap that changes: lowered where
//     the pass's starts took lent power back, raised where more is left.
//     A raise smaller than a twentieth of the model's TDP is not made
//     (short of lifting the cap), so that passes do not trade watts back
//     and forth.
//
// A loan the pass cannot change stays lent: jobs being evicted, jobs on a
// node that is not up, jobs whose replicas started at different caps and
// deployments scaling up are planned at the caps they run at. A job that
// the pass preempts gives its loan back at once.

// recapStep is the smallest raise, as a share of TDP, a recap makes
// short of lifting the cap.
const recapStep = 0.05

// lending is what a pass took back before planning.
type lending struct {
	orig *model.Snapshot // the driver's snapshot: the caps jobs run at
	// recalled marks the allocations (by index in Running) planned at
	// their own caps
	recalled []bool
}

// recalls is a Queue's memory of the slices of placements at their own
// caps it planned on, by the driver's slice: the kept view tells changed
// allocations by their slices, so the same loan must give the same slice
// at every pass.
type recalls map[*model.Placement][]model.Placement

// recall returns snap with every loan it can take back at its own cap,
// and what it took back (nil when there is nothing lent or the policy
// does not lend). pending tells queued jobs (a deployment scaling up).
func recall(snap *model.Snapshot, keep *recalls, pending func(id string) bool) (*model.Snapshot, *lending) {
	if !snap.Facility.Policy.Lends() {
		return snap, nil
	}
	var l *lending
	var down map[string]bool
	next := recalls{}
	for i := range snap.Running {
		a := &snap.Running[i]
		if !lent(a.Replicas) {
			continue
		}
		if l == nil {
			down = downNodes(snap)
			l = &lending{orig: snap, recalled: make([]bool, len(snap.Running))}
		}
		if !recallable(a, down) || pending(a.Job.ID) {
			continue
		}
		key := &a.Replicas[0]
		own := (*keep)[key]
		if own == nil {
			own = slices.Clone(a.Replicas)
			for k := range own {
				own[k].PowerCapW = own[k].OwnCapW()
			}
		}
		next[key] = own
		if l.orig == snap { // copy on first write
			cp := *snap
			cp.Running = slices.Clone(snap.Running)
			snap = &cp
		}
		snap.Running[i].Replicas = own
		l.recalled[i] = true
	}
	*keep = next
	if l == nil {
		return snap, nil
	}
	return snap, l
}

// lent reports whether a replica runs on lent power.
func lent(rs []model.Placement) bool {
	for _, r := range rs {
		if r.StartCapW > 0 && r.PowerCapW != r.StartCapW {
			return true
		}
	}
	return false
}

// downNodes is the nodes of the snapshot in any condition but up.
func downNodes(snap *model.Snapshot) map[string]bool {
	down := map[string]bool{}
	for _, st := range snap.Nodes {
		if st.Condition != "" && st.Condition != model.NodeUp {
			down[st.Node] = true
		}
	}
	return down
}

// recallable reports whether a pass may change a's cap: it runs, not
// being evicted, on nodes that are up, every replica capped at one own
// cap and running at one cap (recall and lendTo read replica 0's).
func recallable(a *model.Allocation, down map[string]bool) bool {
	if a.Job == nil || a.Terminating || len(a.Replicas) == 0 {
		return false
	}
	own, cur := a.Replicas[0].OwnCapW(), a.Replicas[0].PowerCapW
	for _, r := range a.Replicas {
		if len(r.GPUs) == 0 || down[r.Node] || r.OwnCapW() != own || own <= 0 || r.PowerCapW != cur {
			return false
		}
	}
	return true
}

// recapFor is a running job whose cap the pass may change.
type recapFor struct {
	i    int // index in Running
	prio int
}

// recap adds the pass's recaps to the plan: the power left lent again,
// loans taken back where starts used them.
func (p *pass) recap() {
	if !p.pol.Lends() || p.tally == nil || p.tally.capped == 0 {
		return
	}
	started := map[string]bool{}
	for _, st := range p.plan.Starts {
		started[st.Job] = true // a deployment scaling up: its new replicas have their own cap
	}
	var cands []recapFor
	for i := range p.snap.Running {
		a := &p.snap.Running[i]
		if a.Job == nil || !model.AnyCapped(a.Replicas) {
			continue
		}
		if p.victims[a.Job.ID] {
			p.giveBack(i) // preempted: its loan ends now
			continue
		}
		if started[a.Job.ID] || !recallable(a, nil) || p.leavingPart(a.Job.ID) { // lendTo reads the nodes' conditions in the view

			continue
		}
		cands = append(cands, recapFor{i, p.priority(a.Job)})
	}
	slices.SortFunc(cands, func(x, y recapFor) int {
		ax, ay := &p.snap.Running[x.i], &p.snap.Running[y.i]
		if x.prio != y.prio {
			return cmp.Compare(y.prio, x.prio)
		}
		if ax.Started != ay.Started {
			return cmp.Compare(ax.Started, ay.Started)
		}
		return cmp.Compare(ax.Job.ID, ay.Job.ID)
	})
	for _, cd := range cands {
		p.lendTo(cd.i)
	}
	if len(p.plan.Recaps) > 1 {
		// in the order of the snapshot's jobs by ID, whatever the order of lending
		slices.SortFunc(p.plan.Recaps, func(x, y model.Recap) int { return cmp.Compare(x.Job, y.Job) })
	}
}

// runsAt is the cap running allocation i runs at now, outside the pass's
// view (all its replicas share it when it can be recapped).
func (p *pass) runsAt(i int) int {
	if p.lending != nil && p.lending.recalled[i] {
		return p.lending.orig.Running[i].Replicas[0].PowerCapW
	}
	return p.snap.Running[i].Replicas[0].PowerCapW
}

// giveBack lowers a job planned at its own cap, a preempted one or one
// the pass cannot lend to, to that cap if it runs on lent power.
func (p *pass) giveBack(i int) {
	if p.lending == nil || !p.lending.recalled[i] {
		return
	}
	a := &p.snap.Running[i]
	p.emitRecap(a, p.runsAt(i), a.Replicas[0].PowerCapW)
}

// emitRecap adds a recap of a from cap now to cap to, if the GPUs' draw
// differs (a cap at TDP draws what no cap does).
func (p *pass) emitRecap(a *model.Allocation, now, to int) {
	if now == to {
		return
	}
	added := 0.0
	for _, r := range a.Replicas {
		if n, ok := p.c.NodeIndex[r.Node]; ok && p.c.Nodes[n].Model >= 0 {
			m := int(p.c.Nodes[n].Model)
			added += float64(len(r.GPUs)) * (p.c.GPUWatts(m, to) - p.c.GPUWatts(m, now))
		}
	}
	if added == 0 {
		return
	}
	p.plan.Recaps = append(p.plan.Recaps, model.Recap{Job: a.Job.ID, PowerCapW: to, PowerW: added})
}

// lendTo gives running allocation i, planned at its own cap, as much
// power as its containers have left, and records the change from the
// cap it runs at.
func (p *pass) lendTo(i int) {
	a := &p.snap.Running[i]
	own, now := a.Replicas[0].PowerCapW, p.runsAt(i) // in the view; outside
	m := -1
	nodes := make([]int, len(a.Replicas))
	for k, r := range a.Replicas {
		n, ok := p.c.NodeIndex[r.Node]
		if !ok {
			p.giveBack(i)
			return
		}
		nd := &p.c.Nodes[n]
		if !nd.Up || nd.Nameplate || nd.Model < 0 || (m >= 0 && int(nd.Model) != m) {
			p.giveBack(i)
			return
		}
		m, nodes[k] = int(nd.Model), n
	}
	gm := p.c.Models[m]
	if !gm.CanCap() {
		p.giveBack(i)
		return
	}
	to, ok := p.fitCap(a, nodes, m)
	eff := func(c int) float64 { return p.c.GPUWatts(m, c) } // a cap at TDP is as good as none
	switch {
	case !ok || eff(to) < eff(own):
		to = own // the containers were over before the pass: nothing to lend
	case eff(to) < eff(now):
		// starts took lent power back (or less is left): lower to what fits
	case eff(to) > eff(now) && (to == 0 || eff(to)-eff(now) >= recapStep*float64(gm.TDPWatts)):
		// lift the cap, or a raise worth making
	default:
		to = now // keep what it has
	}
	if to != own {
		for k, r := range a.Replicas {
			p.c.Recap(nodes[k], len(r.GPUs), own, to)
		}
	}
	p.emitRecap(a, now, to)
}

// fitCap is the highest cap (0: uncapped) that allocation a, planned at
// its own cap on nodes of model m, may run at in the pass's view; ok is
// false when no settable cap fits (its containers were over already).
func (p *pass) fitCap(a *model.Allocation, nodes []int, m int) (capW int, ok bool) {
	gm := p.c.Models[m]
	// Per container, with every replica at cap C the load grows by
	// Σ gpus × (C − own): it fits while C ≤ (headroom + Σ gpus × own) / Σ gpus.
	var buf [8]powerUse
	uses := powerUses(buf[:0])
	limit := float64(gm.TDPWatts)
	for k, r := range a.Replicas {
		nd := &p.c.Nodes[nodes[k]]
		uses = uses.addNode(p.c, nd, len(r.GPUs), float64(len(r.GPUs))*p.c.GPUWatts(m, r.PowerCapW), true)
		if p.pol.PowerShare && nd.Site >= 0 {
			if share, ok := p.siteShare(int(nd.Site)); ok {
				limit = min(limit, float64(gm.IdleWatts)+share)
			}
		}
	}
	for _, u := range uses {
		limit = min(limit, (u.pw.HeadroomFor(true)+u.w)/float64(u.gpus))
	}
	return p.capUnder(gm, limit)
}
