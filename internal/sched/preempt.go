package sched

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/place"
)

// Bounds on the preemption work of one pass: searches (what-if runs on a
// job that has candidates), candidate scans, candidates per search and
// single-victim alternatives tried per search. A job that needs more
// than its quota could give it with nothing running is not searched for
// and counts against none of them (beyondQuota).
const (
	maxPreemptSearches  = 64
	maxPreemptScans     = 1024
	maxVictimCandidates = 256
	maxSingleTries      = 32
)

type victim struct {
	a    *model.Allocation
	ti   int     // its tenant in the quota tree, -1 if none
	gpus int64   // GPUs of the searched model the victim holds
	lost float64 // GPU-seconds since the last checkpoint
	prio int
	// whole, on a partial victim (partial.go), is the deployment's
	// allocation, of which a holds the replicas taken; nil: a is taken
	// whole
	whole *model.Allocation
	// partOnly: a deployment that Policy.VictimRatio lets give up
	// replicas but spares whole
	partOnly bool
}

// preempt looks for the cheapest set of running jobs whose eviction lets
// j start, following Kueue's rules:
//
//   - within j's tenant: lower-priority preemptible jobs (priority
//     preemption, Policy.Preemption);
//   - across tenants, only tenants that borrow beyond their nominal quota
//     in j's quota tree can lose work: lower-priority jobs of theirs
//     (Policy.Preemption), or any of theirs when j's tenant stays within
//     its own nominal quota (reclaim, Policy.Reclaim); by reclaim a
//     borrower is never pushed below its nominal quota by more than its
//     last victim, by priority alone not at all (see eligible). Who
//     borrows, and who stays within nominal, is judged on quota in flight
//     (projected): usage less the GPUs leaving a tenant, plus those
//     promised to its beneficiaries. With quotas off, any lower-priority
//     preemptible job may be preempted.
//
// Victims are whole jobs, or a deployment's replicas above its minimum
// (partial.go); non-preemptible work is never chosen, nor work
// far larger than j needs, nor, by reclaim, work just started
// (proportionate). The set is grown cheapest-first (GPU-time lost since
// each victim's last checkpoint) until j fits — quota, placement and power — then pruned of
// victims it does not need; a single cheaper victim that suffices wins.
// On success the victims get a notice now and are evicted after their
// checkpoint grace; j waits for them. The second result is a note for
// j's reason when preemption was possible but not allowed.
func (p *pass) preempt(t *model.Tenant, j *model.Job, atts []attempt) (bool, string) {
	if !(p.pol.Preemption || p.pol.Reclaim) || len(atts) == 0 {
		return false, ""
	}
	note := ""
	for i := range atts {
		a := &atts[i]
		if (!a.v.capacity && a.v.code != model.ReasonQuota) || a.v.code == model.ReasonBackfill || p.beyondQuota(j, a.model) {
			continue
		}
		if !p.mayHaveVictims(t, j, a.model) {
			continue
		}
		// With Policy.ReclaimAnySize, proportionate victims first: the
		// policy lets reclaim take larger work when nothing proportionate
		// makes room, not prefer a large gang that checkpointed minutes
		// ago (the cheapest by work lost alone) to a victim of j's size.
		// Where the ratio bounds nothing (0, or j deadline-urgent), the
		// two searches are one.
		anySize := p.reclaimsAnySize(t, j, a.model) && p.pol.VictimRatio > 0 && p.ratioNeed(j) > 0
		before := note
		for _, free := range [...]bool{false, true} {
			if free && !anySize {
				break
			}
			if p.preemptScans >= maxPreemptScans {
				break
			}
			note = before // the words of the last search tried
			p.preemptScans++
			refs, spared := p.matchVictims(t, j, a.model, a.req.Sites, free)
			if len(refs) == 0 {
				if spared != 0 {
					note = noteSpared(&p.pol, spared)
				}
				continue
			}
			if p.preemptTries >= maxPreemptSearches {
				return false, note
			}
			p.preemptTries++
			if p.quotaBars(j, a.model, refs) {
				continue // victimSet would find no set
			}
			cands := p.victimList(refs)
			var chosen []victim
			if parts := p.partialVictims(cands, &a.req); parts != nil {
				if chosen = p.victimSet(t, j, a, parts); chosen != nil {
					chosen = p.shrink(j, a, chosen)
				}
				if !p.proportionateParts(j, chosen, free) {
					chosen = nil
				}
			}
			if chosen == nil {
				chosen = p.victimSet(t, j, a, wholeOnly(cands))
			}
			if chosen == nil {
				if len(p.partOnly) > 0 {
					note = noteSpared(&p.pol, spared|spareRatio)
				}
				continue
			}
			if lim := p.pol.PreemptionRateLimit; lim > 0 && p.recentPreem+len(chosen) > lim {
				return false, fmt.Sprintf("; preemption would evict %d job(s) but the rate limit allows %d more in %s",
					len(chosen), max(0, lim-p.recentPreem), p.pol.PreemptionWindow)
			}
			gone := make([]*model.Allocation, len(chosen))
			evicted := p.now
			for k, v := range chosen {
				gone[k] = v.a
				evicted = max(evicted, p.now.Add(v.a.Job.CheckpointGrace))
			}
			if !p.holdRoom(j, a, gone, evicted) {
				continue // no room for j once they leave: evicting them gains nothing
			}
			p.evict(j, chosen)
			for _, v := range chosen {
				p.leave(v.a)
			}
			p.promise(j, a.model, p.need(j))
			return true, ""
		}
	}
	return false, note
}

// beyondQuota reports whether j needs more of model m than its tenant's
// quota could give it even if nothing ran: no set of victims can make
// room, so the search is skipped and does not count against the bounds
// (fitsWithout would reject every set on quota; usage only lowers what
// the tree makes available).
func (p *pass) beyondQuota(j *model.Job, m int) bool {
	if !p.pol.Quotas || j.GPUsPerReplica == 0 {
		return false
	}
	ti := p.tenantIndex(j.Tenant)
	if ti < 0 {
		return false
	}
	a := p.prep.quota.Available(ti, m)
	if p.mayNotBorrow(j) {
		a = min(a, p.prep.quota.Nominal(ti, m))
	}
	return a < p.need(j)
}

// vref is a possible victim in the index of one GPU model: the
// allocation, the GPUs of that model it holds and the sites they are on.
type vref struct {
	a     *model.Allocation // nil in a Queue's kept index: h's allocation
	h     *holding          // in a kept index; nil there for a hole
	gpus  int64
	sites []int
	victimWho
}

// victimIndex lists, per GPU model, the running allocations that could
// ever be victims (preemptible, not terminating), in snapshot order. A
// Queue's view keeps the index between passes and updates it by
// difference (see kept), so a pass visits what changed, not every
// allocation; entries whose allocation left are holes (vref.hole) to
// skip. Without a kept index (Schedule, or a snapshot that lists a job
// twice) the pass builds its own.
func (p *pass) victimIndex() [][]vref {
	if p.victimsIndexed {
		return p.vIdx
	}
	p.victimsIndexed = true
	if p.kept != nil {
		if idx, mins, live, ok := p.kept.victimIndex(p.victimWho); ok {
			p.vIdx, p.vMin, p.vLive = idx, mins, live
			return idx
		}
	}
	p.vIdx, p.vMin, p.vLive = p.ownVictimIndex(), p.minVictimPrio, nil
	return p.vIdx
}

// hole reports whether a kept index's entry is a hole.
func (r *vref) hole() bool { return r.a == nil && r.h == nil }

// alloc is the entry's allocation in the pass's snapshot.
func (p *pass) alloc(r *vref) *model.Allocation {
	if r.a != nil {
		return r.a
	}
	return &p.snap.Running[r.h.idx]
}

// victimCount is how many entries the index has for model m.
func (p *pass) victimCount(m int) int {
	idx := p.victimIndex()
	if p.vLive != nil {
		return p.vLive[m]
	}
	return len(idx[m])
}

// ownVictimIndex builds the pass's own index in p.byModel.
func (p *pass) ownVictimIndex() [][]vref {
	if len(p.byModel) != len(p.c.Models) { // else the last pass's, emptied
		p.byModel = make([][]vref, len(p.c.Models))
		p.minVictimPrio = make([]int, len(p.c.Models))
	}
	for m := range p.byModel {
		p.byModel[m] = p.byModel[m][:0]
	}
	for m := range p.minVictimPrio {
		p.minVictimPrio[m] = int(^uint(0) >> 1)
	}
	var scratch []vshape
	for i := range p.snap.Running {
		a := &p.snap.Running[i]
		if a.Job == nil || a.Terminating || !a.Job.Preemptible {
			continue
		}
		var h *holding
		if i < len(p.tally.order) {
			h = p.tally.order[i]
		}
		scratch = p.shapeOf(i, a, scratch[:0])
		var who victimWho
		switch {
		case h != nil && h.whoOK:
			who = h.who
		case h != nil:
			h.who, h.whoOK = p.victimWho(a.Job), true
			who = h.who
		default:
			who = p.victimWho(a.Job)
		}
		for _, sh := range scratch {
			p.byModel[sh.model] = append(p.byModel[sh.model], vref{a: a, gpus: sh.gpus, sites: sh.sites, victimWho: who})
			p.minVictimPrio[sh.model] = min(p.minVictimPrio[sh.model], who.prio)
		}
	}
	return p.byModel
}

// victimWho is what a possible victim's job is to the pass: its tenant
// and that tenant's root in the quota tree (-1 if none) and its priority.
// It depends on the job and the facility only, so a kept holding keeps
// it.
type victimWho struct{ ti, root, prio int }

func (p *pass) victimWho(j *model.Job) victimWho {
	w := victimWho{ti: p.q.Tenant(j.Tenant), root: -1, prio: p.priority(j)}
	if w.ti >= 0 {
		w.root = p.q.Root(w.ti)
	}
	return w
}

// vshape is what one allocation holds of one GPU model: the GPUs and the
// sites they are on, in the order its placements meet them.
type vshape struct {
	model int
	gpus  int64
	sites []int
}

// shapeOf appends to out what allocation i, a, holds per GPU model, in
// the order its placements meet the models.
func (p *pass) shapeOf(i int, a *model.Allocation, out []vshape) []vshape {
	for k, r := range a.Replicas {
		n, ok := p.tally.nodeAt(p.c, i, k, r.Node)
		if !ok {
			continue
		}
		out = addShape(out, &p.c.Nodes[n], len(r.GPUs))
	}
	return out
}

// addShape adds gpus GPUs on node nd to out, the per-model shape of an
// allocation (in the order its placements meet the models).
func addShape(out []vshape, nd *place.Node, gpus int) []vshape {
	if nd.Model < 0 {
		return out
	}
	e := slices.IndexFunc(out, func(s vshape) bool { return s.model == nd.Model })
	if e < 0 {
		out = append(out, vshape{model: nd.Model})
		e = len(out) - 1
	}
	out[e].gpus += int64(gpus)
	if nd.Site >= 0 && !slices.Contains(out[e].sites, nd.Site) {
		out[e].sites = append(out[e].sites, nd.Site)
	}
	return out
}

// mayHaveVictims is a cheap necessary condition for matchVictims to
// find any.
func (p *pass) mayHaveVictims(t *model.Tenant, j *model.Job, m int) bool {
	if p.victimCount(m) == 0 {
		return false
	}
	if p.pol.Preemption && p.priority(j) > p.vMin[m] {
		return true
	}
	return p.pol.Reclaim && p.pol.Quotas && p.withinNominal(t, j, m)
}

// withinNominal: j needs GPUs of m, and its tenant stays within its
// nominal quota of m with j, counting what its other beneficiaries were
// promised and what leaves it (projected). A job without GPUs takes back
// no quota, so it never reclaims: 0 GPUs more never exceed a nominal
// quota, and a 4-CPU job evicted another tenant's 8-GPU job of a higher
// priority by reclaim.
func (p *pass) withinNominal(t *model.Tenant, j *model.Job, m int) bool {
	ti := p.tenantIndex(t.Name)
	need := p.need(j)
	return ti >= 0 && need > 0 && p.projected(ti, m)+need <= p.q.Nominal(ti, m)
}

// matchVictims lists, in p.matched and in index order, the entries of
// model m's victim index that j may preempt (see preempt) on its sites
// and that are proportionate to it (with anySize, when j reclaims free
// of the ratio, reclaimsAnySize, another tenant's borrowing work of any
// size is); spared says by which rules it left out any that were not
// (0: none).
// It reads the index's entries first and an allocation only for the
// entries they let through, or to compare tenant names when j's tenant
// is not in the quota tree.
func (p *pass) matchVictims(t *model.Tenant, j *model.Job, m int, sites []bool, anySize bool) (refs []*vref, spared spare) {
	prio := p.priority(j)
	ti, root := p.tenantIndex(t.Name), -1
	if ti >= 0 {
		root = p.q.Root(ti)
	}
	reclaim := p.pol.Reclaim && p.pol.Quotas && p.withinNominal(t, j, m)
	need := p.ratioNeed(j)
	anySize = anySize && reclaim && p.pol.ReclaimAnySize
	out := p.matched[:0]
	p.partOnly = p.partOnly[:0]
	idx := p.victimIndex()[m]
	for i := range idx {
		ref := &idx[i]
		lower := p.pol.Preemption && ref.prio < prio
		if ref.hole() || !lower && !(reclaim && ref.gpus > 0) { // reclaim takes back GPUs only
			continue
		}
		// Same tenant (or no quotas): only lower priorities. Another
		// tenant under j's root that borrows: lower priorities, or any
		// when j reclaims. Tenant indices differ when names do.
		same := !p.pol.Quotas
		switch {
		case same:
		case ti >= 0:
			same = ref.ti == ti
		case ref.ti < 0:
			same = p.alloc(ref).Job.Tenant == t.Name
		}
		if same && !lower {
			continue
		}
		if !same && (ti < 0 || ref.ti < 0 || ref.root != root || p.projected(ref.ti, m) <= p.q.Nominal(ref.ti, m)) {
			continue
		}
		held := sites == nil
		for _, s := range ref.sites {
			held = held || sites[s]
		}
		if id := p.alloc(ref).Job.ID; !held || len(p.victims) > 0 && p.victims[id] || p.scaledUp[id] ||
			p.leavingPart(id) {
			continue // a victim already, a deployment this pass scales up, or one whose replicas leave
		}
		need := need
		if anySize && !same {
			need = 0 // reclaim of any size: Policy.ReclaimAnySize
		}
		if by := sparedBy(&p.pol, need, ref.gpus, lower, p.alloc(ref).Started, p.now); by != 0 {
			// A deployment that can give up replicas is bounded by
			// what it gives (one replica at least), not by all it runs.
			a := p.alloc(ref)
			if by != spareRatio || !partable(a) {
				spared |= by
				continue
			}
			if by = sparedBy(&p.pol, need, min(ref.gpus, int64(a.Job.GPUsPerReplica)), lower, a.Started, p.now); by != 0 {
				spared |= by
				continue
			}
			p.partOnly = append(p.partOnly, a)
		}
		out = append(out, ref)
	}
	p.matched = out
	return out, spared
}

// partable reports whether a, a running allocation, is a deployment
// that runs more replicas than it keeps: a partial victim (partial.go).
func partable(a *model.Allocation) bool {
	return a.Job.Kind == model.KindDeployment && len(a.Replicas) > model.KeepsReplicas(a.Job)
}

// quotaBars reports whether j's quota keeps it off model m even with
// every matched victim gone; then victimSet finds no set, since its
// every trial removes only some of them (the cheapest eligible ones)
// and a tenant's available quota never grows with usage anywhere in
// its tree (quota.Tree.Available). Most searches of a busy cluster end
// here, before their candidates are costed and sorted.
func (p *pass) quotaBars(j *model.Job, m int, refs []*vref) bool {
	ti := p.q.Tenant(j.Tenant)
	if !quotaShortcut || !p.pol.Quotas || ti < 0 || j.GPUsPerReplica == 0 {
		return false
	}
	need := p.need(j)
	if p.q.Available(ti, m) >= need && !p.mayNotBorrow(j) {
		return false // with nothing removed
	}
	for _, r := range refs {
		if r.ti >= 0 {
			p.q.Add(r.ti, m, -r.gpus)
		}
	}
	bars := p.q.Available(ti, m) < need || p.mayNotBorrow(j) && p.borrows(ti, j, m)
	for _, r := range refs {
		if r.ti >= 0 {
			p.q.Add(r.ti, m, r.gpus)
		}
	}
	return bars
}

// quotaShortcut lets preempt skip the searches quotaBars settles; tests
// turn it off to compare.
var quotaShortcut = true

// victimList is the candidates of the matched entries refs: cheapest
// first (GPU-time lost since the last checkpoint, then priority, then
// job ID), at most maxVictimCandidates.
func (p *pass) victimList(refs []*vref) []victim {
	out := make([]victim, 0, len(refs))
	for _, ref := range refs {
		a := p.alloc(ref)
		out = append(out, victim{a: a, ti: ref.ti, gpus: ref.gpus, lost: p.lostOf(a), prio: ref.prio,
			partOnly: len(p.partOnly) > 0 && slices.Contains(p.partOnly, a)})
	}
	sort.Slice(out, func(x, y int) bool { return cheaper(out[x], out[y]) })
	if len(out) > maxVictimCandidates {
		out = out[:maxVictimCandidates]
	}
	return out
}

// eligible drops, in order, cross-tenant victims whose tenant would no
// longer be borrowing after the victims before them are gone and, unless
// j reclaims (its tenant stays within nominal), those whose eviction
// would push their tenant below its nominal quota: by priority alone a
// borrower loses only what it borrows. (Pushed below, it would take the
// GPUs back by reclaim, and two jobs could evict each other for ever.)
// A tenant's holding is its quota in flight (projected), so the victims
// chosen earlier in the pass, and those already terminating, count as
// gone. It returns cands itself when it drops none.
func (p *pass) eligible(t *model.Tenant, j *model.Job, m int, cands []victim) []victim {
	if !p.pol.Quotas {
		return cands
	}
	reclaim := p.pol.Reclaim && p.withinNominal(t, j, m)
	removed := p.removed[:0] // per cross-tenant victims' tenant
	var out []victim         // nil until a victim is dropped
	for k, v := range cands {
		keep := true
		if v.a.Job.Tenant != t.Name {
			x := slices.IndexFunc(removed, func(r tenantGPUs) bool { return r.ti == v.ti })
			if x < 0 && v.ti >= 0 {
				removed, x = append(removed, tenantGPUs{ti: v.ti}), len(removed)
			}
			keep = false
			if x >= 0 {
				left, nominal := p.projected(v.ti, m)-removed[x].gpus, p.q.Nominal(v.ti, m)
				keep = left > nominal && (reclaim || left-v.gpus >= nominal)
			}
			if keep {
				removed[x].gpus += v.gpus
			}
		}
		switch {
		case !keep && out == nil:
			out = append(make([]victim, 0, len(cands)-1), cands[:k]...)
		case keep && out != nil:
			out = append(out, v)
		}
	}
	p.removed = removed
	if out == nil {
		return cands
	}
	return out
}

// tenantGPUs is GPUs of tenant ti (an index in the quota tree).
type tenantGPUs struct {
	ti   int
	gpus int64
}

// request is the placement question a preemption must answer: the whole
// gang, or a deployment's missing minimum. It keeps a.req's Constrained:
// a job that would still run at the reservation's start may use only
// the reservation's spares then, victims gone or not.
func (p *pass) preemptRequest(j *model.Job, a *attempt) place.Request {
	req := a.req
	if j.Kind == model.KindDeployment {
		req.Replicas = p.deployNeed(j)
		req.Level, req.Required, req.SameNode = place.NumLevels, false, false
	}
	return req
}

// startingAt constrains req, j's request, when j starting at at would
// still run at the reservation's start: a job that waits for its
// victims starts later than now, and may then run past it.
func (p *pass) startingAt(req *place.Request, j *model.Job, at model.Time) {
	if p.res != nil && (j.RuntimeLimit <= 0 || at.Add(j.RuntimeLimit) > p.res.start) {
		req.Constrained = true
	}
}

// fitsWithout reports whether j fits on attempt a's model — quota,
// placement and power — once the given victims are gone.
func (p *pass) fitsWithout(j *model.Job, a *attempt, vs []victim) bool {
	// Quota first: it needs no cluster changes, and often settles it.
	// Only the searched model's usage matters to the check, and victims
	// come from that model's index, holding v.gpus of it.
	for _, v := range vs {
		if v.ti >= 0 {
			p.q.Add(v.ti, a.model, -v.gpus)
		}
	}
	defer func() {
		for _, v := range vs {
			if v.ti >= 0 {
				p.q.Add(v.ti, a.model, v.gpus)
			}
		}
	}()
	evicted := p.now
	for _, v := range vs {
		evicted = max(evicted, p.now.Add(v.a.Job.CheckpointGrace))
	}
	req := p.preemptRequest(j, a)
	p.startingAt(&req, j, evicted)
	ti := p.q.Tenant(j.Tenant)
	if p.pol.Quotas && ti >= 0 && j.GPUsPerReplica > 0 && p.availableFor(ti, a.model, req.Constrained, p.need(j)) < p.need(j) {
		return false
	}
	if ti >= 0 && p.mayNotBorrow(j) && p.borrows(ti, j, a.model) {
		return false
	}
	p.c.Begin()
	defer p.c.Rollback()
	for _, v := range vs {
		p.releaseAlloc(v.a)
	}
	req.Probe = true
	res := p.c.Find(&req)
	if !res.OK() {
		return false
	}
	_, _, ok := p.powerFor(j, a.model, res.Slots, req.Constrained)
	return ok
}

func cost(vs []victim) float64 {
	c := 0.0
	for _, v := range vs {
		c += v.lost
	}
	return c
}

// victimSet grows the set cheapest-first until j fits, drops every
// victim (most expensive first) that is not needed, and prefers a single
// cheaper victim that suffices on its own.
func (p *pass) victimSet(t *model.Tenant, j *model.Job, a *attempt, cands []victim) []victim {
	cands = p.eligible(t, j, a.model, cands)
	n := firstFit(len(cands), func(k int) bool { return p.fitsWithout(j, a, cands[:k+1]) })
	if n == len(cands) {
		return nil
	}
	set := append([]victim(nil), cands[:n+1]...)
	for i := len(set) - 1; i >= 0 && len(set) > 1; i-- {
		trial := append(append([]victim(nil), set[:i]...), set[i+1:]...)
		if len(p.eligible(t, j, a.model, trial)) == len(trial) && p.fitsWithout(j, a, trial) {
			set = trial
		}
	}
	if p.fitsWithout(j, a, nil) {
		// j fits with no victim at all: what kept it from starting is
		// not what fitsWithout judges (it failed for a reason the
		// search does not model), so no eviction is sure to help it.
		return nil
	}
	if len(set) > 1 {
		best := cost(set)
		for k, v := range cands {
			if k >= maxSingleTries || v.lost >= best {
				break
			}
			if p.fitsWithout(j, a, []victim{v}) {
				return []victim{v}
			}
		}
	}
	return set
}

// evict gives vs notice to leave for j, and says when the last of them
// is evicted.
func (p *pass) evict(j *model.Job, vs []victim) model.Time {
	var ids []string
	last := p.now
	for _, v := range vs {
		vj := v.a.Job
		evictAt := p.now.Add(vj.CheckpointGrace)
		last = max(last, evictAt)
		reason := fmt.Sprintf("priority %d preempts %d", p.priority(j), v.prio)
		switch {
		case vj.Tenant != j.Tenant && (v.prio >= p.priority(j) || !p.pol.Preemption || p.beyondRatio(j, v)):
			// beyond the ratio, only reclaim free of it took the victim
			// (Policy.ReclaimAnySize), whatever its priority
			reason = fmt.Sprintf("reclaim: tenant %s takes back its nominal quota from borrower %s", j.Tenant, vj.Tenant)
		case vj.Tenant != j.Tenant && p.pol.Quotas:
			reason += fmt.Sprintf(" (tenant %s borrows beyond its nominal quota)", vj.Tenant)
		}
		pr := model.Preemption{
			Victim: vj.ID, Beneficiary: j.ID, Reason: reason,
			NoticeAt: p.now, EvictAt: evictAt, LostGPUSeconds: v.lost,
		}
		id := vj.ID
		if v.whole != nil {
			pr.Reason += partNote(v)
			pr.Replicas = inOrderOf(v.whole.Replicas, v.a.Replicas)
			id = fmt.Sprintf("%d replica(s) of %s", len(v.a.Replicas), vj.ID)
		}
		p.plan.Preemptions = append(p.plan.Preemptions, pr)
		p.victims[vj.ID] = true
		if v.a.End() >= model.Forever { // no release: it leaves at evictAt all the same
			p.leaving = append(p.leaving, release{at: model.Forever, job: vj, reps: v.a.Replicas, idx: -1})
		}
		if v.whole == nil { // the estimates keep a partial victim's others running
			p.herdEvict(vj.ID, j.ID, evictAt)
		}
		ids = append(ids, id)
	}
	p.recentPreem += len(vs)
	scrub := ""
	for _, v := range vs {
		if v.a.Job.Tenant != j.Tenant && v.a.Job.GPUsPerReplica > 0 {
			scrub = " and the scrub of GPUs another tenant used"
		}
	}
	p.pending(j, verdict{code: model.ReasonPreempting, msg: fmt.Sprintf(
		"preempting: evicting %s; starts after eviction at %s%s",
		strings.Join(ids, ", "), last, scrub)}, last)
	return last
}

// firstFit is sort.Search(n, fits) for a monotone fits, found with fewer
// and smaller probes when the answer is small: each probe of k releases
// k+1 victims, and the cheapest few usually make room. One probe of the
// whole set settles "no set fits"; otherwise it gallops from 0 and
// bisects the last step.
func firstFit(n int, fits func(k int) bool) int {
	if n == 0 || !fits(n-1) {
		return n
	}
	lo := 0
	for step := 1; ; step *= 2 {
		k := lo + step - 1
		if k >= n-1 {
			k = n - 1
			return lo + sort.Search(k-lo, func(i int) bool { return fits(lo + i) })
		}
		if fits(k) {
			return lo + sort.Search(k-lo, func(i int) bool { return fits(lo + i) })
		}
		lo = k + 1
	}
}

// cheaper orders victim candidates: the least work lost first, then the
// lowest priority, then by job ID.
func cheaper(a, b victim) bool {
	if a.lost != b.lost {
		return a.lost < b.lost
	}
	if a.prio != b.prio {
		return a.prio < b.prio
	}
	return a.a.Job.ID < b.a.Job.ID
}

// lostOf is the GPU-time a's eviction loses: every GPU it holds since
// its last checkpoint (or its start).
func (p *pass) lostOf(a *model.Allocation) float64 {
	all := 0
	for _, r := range a.Replicas {
		all += len(r.GPUs)
	}
	return float64(all) * float64(max(0, p.now-max(a.LastCheckpoint, a.Started)))
}
