package sched

import (
	"cmp"
	"fmt"
	"math/bits"
	"slices"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/place"
)

// A job that waits for its preemption victims to leave keeps, for the
// rest of the pass, the room it will start in once they have left, as
// Kubernetes counts a preemptor on its nominated node when it places
// lower-priority pods. Only the victims' own GPUs are claimed for it
// (GPUState.ClaimedBy); without the hold, the free GPUs its placement
// also needs went to the jobs after it — its victims first of all,
// queued again — and it preempted them again once the others had left,
// over and over (docs/plan.md, "Preemption storms").
//
// Such a job is also served before every priority level (beneficiaries),
// with the jobs whose victims' GPUs are claimed for them: a hold taken
// at its turn in the walk would come after the jobs before it, and a
// reclaim can evict a borrower of a higher priority than the job that
// reclaims, whose victim, queued again at its higher priority, took back
// the quota and GPUs its eviction had freed before the job's turn, and
// was evicted again once its grace had passed, over and over.

// beneficiaries lists the queued jobs some preemption is for that have
// not started yet: those whose victims are still leaving and those that
// GPUs freed by an eviction are claimed for; by priority class value
// (highest first), then queued time (queuedAt) and ID. Parked jobs stay
// out: they can never start, and a Queue's walks leave them out (their
// victims still leaving change nothing: a hopeless job holds nothing).
func (p *pass) beneficiaries(src *Queue) []*model.Job {
	var out []*model.Job
	add := func(id string) {
		if j, ok := src.Get(id); ok && src.parked[id] == nil && !slices.Contains(out, j) {
			out = append(out, j)
		}
	}
	for id := range p.waitingFor {
		add(id)
	}
	for id := range p.claimed {
		add(id)
	}
	slices.SortFunc(out, func(a, b *model.Job) int { // jobLess within a class
		return cmp.Or(cmp.Compare(src.prio[b.PriorityClass], src.prio[a.PriorityClass]),
			cmp.Compare(queuedAt(a), queuedAt(b)), cmp.Compare(a.SubmitOrder, b.SubmitOrder), strings.Compare(a.ID, b.ID))
	})
	return out
}

// holdForVictims holds j's room while it waits for the allocations gone
// to leave, the last at evicted: on the first model where the placement
// the preemption search judges (victims gone, power included) exists,
// trying first the models of j's list its victims give GPUs back on (most
// GPUs first), then the others in j's order. The preemption chose them
// for room on their model; a hold on another, freed meanwhile, kept that
// one from the jobs after j while its victims' GPUs went back unused.
func (p *pass) holdForVictims(t *model.Tenant, j *model.Job, sites []bool, gone []*model.Allocation, evicted model.Time) {
	for _, m := range p.victimModelsFirst(p.modelsFor(j), gone) {
		if !p.hasPool(m) {
			continue
		}
		a := attempt{model: m, req: p.request(t, j, m, sites)}
		if p.holdRoom(j, &a, gone, evicted) {
			return
		}
	}
}

// victimModelsFirst orders models (a job's, in its order) by the GPUs the
// allocations gone hold on each, most first; ties and models they hold
// nothing on keep their order. It returns models itself when gone holds
// GPUs on at most its first model.
func (p *pass) victimModelsFirst(models []int, gone []*model.Allocation) []int {
	if len(models) < 2 {
		return models
	}
	on := make(map[int]int, 2)
	for _, v := range gone {
		for _, r := range v.Replicas {
			if n, ok := p.c.NodeIndex[r.Node]; ok && p.c.Nodes[n].Model >= 0 {
				on[p.c.Nodes[n].Model] += len(r.GPUs)
			}
		}
	}
	if len(on) == 0 || len(on) == 1 && on[models[0]] > 0 {
		return models
	}
	out := slices.Clone(models)
	slices.SortStableFunc(out, func(a, b int) int { return cmp.Compare(on[b], on[a]) })
	return out
}

// holdRoom finds where j goes on attempt a's model once the allocations
// gone have left — the placement and power cap fitsWithout judges — and
// takes for j, in the pass's view, what of it is free now: GPUs (those
// already claimed for j included, whose CPUs, memory and power a claim
// does not keep), CPUs, memory and power; it also holds the power j will
// draw on the GPUs its victims still hold beyond what they draw there (a
// gang may count on the watts of victims elsewhere on its site, which
// must not go to the jobs after it once those have left), and j's quota
// (holdQuota). The GPUs its victims still hold are claimed for j when
// freed. (A replica that shares a node with a victim has its CPUs and
// memory counted twice until then, which only keeps more room for j.)
// The hold ends with the pass's view; estimates see it end after j's
// runtime limit from its victims' last eviction, evicted (the pass that
// chooses them knows it before their allocations say so). It reports
// whether it found a placement.
func (p *pass) holdRoom(j *model.Job, a *attempt, gone []*model.Allocation, evicted model.Time) bool {
	req := p.preemptRequest(j, a) // the request j will start with
	p.startingAt(&req, j, max(p.now, evicted))
	req.Probe = true
	p.c.Begin()
	for _, v := range gone {
		p.releaseAlloc(v)
	}
	res, capW, ok := p.findOnVictims(j, a.model, &req, gone)
	if !ok {
		res = p.c.Find(&req)
		if ok = res.OK(); ok {
			capW, _, ok = p.powerFor(j, a.model, res.Slots, req.Constrained)
		}
	}
	p.c.Rollback()
	if !ok {
		return false
	}
	var held []model.Placement
	victimW := p.victimWatts(gone, res.Slots)
	jw := p.c.GPUWatts(a.model, capW)
	total := 0
	for _, s := range res.Slots {
		total += len(s.GPUs)
	}
	frees := make([]int, 0, total) // one array for every slot's free GPUs
	for _, s := range res.Slots {
		nd := &p.c.Nodes[s.Node]
		from := len(frees)
		free := frees[from : from : from+len(s.GPUs)]
		extra := 0.0 // what j will draw on its victims' GPUs beyond them
		for _, g := range s.GPUs {
			if nd.Busy&(1<<g) == 0 {
				free = append(free, g)
			} else if vw, ok := victimW.at(s.Node, g); ok && jw > vw {
				extra += jw - vw
			}
		}
		free = free[:len(free):len(free)] // an append to it must not reach the next slot's
		p.c.HoldPower(s.Node, extra)
		// Also a replica wholly on its victims' GPUs takes its CPUs and
		// memory, and marks the node j's (an exclusive j keeps it whole):
		// what the victims free may not be all it needs there, and the
		// jobs after it must not take the rest.
		p.c.Take(s.Node, free, &req, capW)
		if len(p.holds) > 0 {
			end := model.Forever
			if j.RuntimeLimit > 0 {
				end = max(p.now, evicted).Add(j.RuntimeLimit)
			}
			p.rehold(end, s.Node, free)
		}
		frees = frees[:from+len(free)]
		p.held = append(p.held, heldForJob{job: j.ID, node: s.Node, gpus: len(free)})
		held = append(held, model.Placement{Node: nd.Spec.Name, GPUs: free, PowerCapW: capW})
	}
	p.holdQuota(j, a.model, gone)
	if len(held) > 0 && j.RuntimeLimit > 0 {
		if !p.relBuilt {
			p.buildReleases()
		}
		p.addRelease(j, held, max(p.now, evicted).Add(j.RuntimeLimit), -1)
	}
	return true
}

// findOnVictims looks for req (j's, victims gone) on the nodes of model
// m where the allocations gone give GPUs back or where GPUs are claimed
// for j, the others hidden: a hold elsewhere, on a node freed meanwhile,
// kept that node from the jobs after j while its victims' GPUs went back
// unused. It reports the placement and its power cap, or false when it
// needs other nodes too (the caller then searches them all).
func (p *pass) findOnVictims(j *model.Job, m int, req *place.Request, gone []*model.Allocation) (place.Result, int, bool) {
	mine := map[int]bool{}
	for _, v := range gone {
		for _, r := range v.Replicas {
			if n, ok := p.c.NodeIndex[r.Node]; ok && p.c.Nodes[n].Model == m {
				mine[n] = true
			}
		}
	}
	if len(mine) == 0 {
		return place.Result{}, 0, false
	}
	for _, n := range p.claimed[j.ID] { // GPUs claimed for j stay too
		mine[n] = true
	}
	p.c.Begin()
	hid := false
	hide := func(n int) {
		if !mine[n] && p.c.Nodes[n].Up {
			p.c.Hide(n)
			hid = true
		}
	}
	for pi := range p.c.Pools {
		pool := &p.c.Pools[pi]
		if pool.Model != m {
			continue
		}
		if req.GPUs == 0 { // a node without a free GPU may still hold it
			for _, n := range pool.Nodes {
				hide(int(n))
			}
			continue
		}
		// Only a node with a free GPU can take a replica: the others
		// need no hiding (a preemption means few have one).
		for w, full := range pool.Buckets[0] {
			word := ^full
			if rest := len(pool.Nodes) - w*64; rest < 64 {
				word &= 1<<rest - 1
			}
			for ; word != 0; word &= word - 1 {
				hide(int(pool.Nodes[w*64+bits.TrailingZeros64(word)]))
			}
		}
	}
	if !hid { // no other node: the caller's search is this one
		p.c.Rollback()
		return place.Result{}, 0, false
	}
	res := p.c.Find(req)
	p.c.Rollback()
	if !res.OK() {
		return res, 0, false
	}
	capW, _, ok := p.powerFor(j, m, res.Slots, req.Constrained)
	return res, capW, ok
}

// holdQuota keeps for j the quota it will use of model m less what its
// victims among gone still hold there, whatever their tenant: that much
// comes back to the quota tree when they leave, and is charged to them
// until then. Later starts of the pass see the quota as it will be once
// j has started, at least in j's cohort tree (pass.available); its
// victims, queued again, would otherwise start on the quota their
// eviction gave back, and j, still short of it, would evict them again.
// The hold is not usage: who borrows, and so who may be preempted, is
// judged on quota in flight (inflight.go), where j's whole need counts
// as promised to its tenant, as plan.Verify judges.
func (p *pass) holdQuota(j *model.Job, m int, gone []*model.Allocation) {
	if !p.pol.Quotas || j.GPUsPerReplica == 0 {
		return
	}
	ti := p.q.Tenant(j.Tenant)
	if ti < 0 {
		return
	}
	add := p.need(j)
	for _, v := range gone {
		for _, r := range v.Replicas {
			if n, ok := p.c.NodeIndex[r.Node]; ok && p.c.Nodes[n].Model == m {
				add -= int64(len(r.GPUs))
			}
		}
	}
	if add > 0 {
		p.heldQuota = append(p.heldQuota, quotaHold{ti: ti, model: m, gpus: add, job: j.ID})
	}
}

// quotaHold is quota kept for a job that waits for its victims.
type quotaHold struct {
	ti, model int
	gpus      int64
	job       string
}

// available is what tenant ti may still start of model m: its quota
// tree's answer with the quota held for jobs waiting for their victims
// counted as used.
func (p *pass) available(ti, m int) int64 {
	if len(p.heldQuota) == 0 {
		return p.q.Available(ti, m)
	}
	p.chargeHeld(1)
	defer p.chargeHeld(-1)
	return p.q.Available(ti, m)
}

// chargeHeld adds (sign 1) or takes back (-1) the held quota in the
// pass's tree; usage is exact, so the pair leaves it as it was.
func (p *pass) chargeHeld(sign int64) {
	for _, h := range p.heldQuota {
		p.q.Add(h.ti, h.model, sign*h.gpus)
	}
}

// heldQuotaNote names quota held in tenant ti's tree on model m, for a
// quota reason ("" when none is).
func (p *pass) heldQuotaNote(ti, m int) string {
	root, n, job := p.q.Root(ti), int64(0), ""
	for _, h := range p.heldQuota {
		if h.model == m && p.q.Root(h.ti) == root {
			if n == 0 {
				job = h.job
			}
			n += h.gpus
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (counting %d held for job %s, which waits for its preemption victims)", n, job)
}

// victimDraws is what the GPUs of a what-if's victims draw on some
// nodes: per node with a block, 64 GPUs' watts and which are set.
// Memory sized to the facility is kept between calls; a call costs
// what it sets, not the facility.
type victimDraws struct {
	block []int32 // by node: its block + 1, 0 for none
	nodes []int32 // the nodes with a block, to clear them
	w     []float64
	has   []uint64
}

// reset empties d for a facility of n nodes.
func (d *victimDraws) reset(n int) {
	if len(d.block) != n { // another facility: its nodes' marks go with it
		d.block = make([]int32, n)
	} else {
		for _, x := range d.nodes {
			d.block[x] = 0
		}
	}
	d.nodes, d.w, d.has = d.nodes[:0], d.w[:0], d.has[:0]
}

// cover gives node n a block, once.
func (d *victimDraws) cover(n int) {
	if d.block[n] != 0 {
		return
	}
	d.nodes = append(d.nodes, int32(n))
	d.has = append(d.has, 0)
	d.w = append(d.w, make([]float64, 64)...)
	d.block[n] = int32(len(d.has))
}

// set notes that GPU g of node n draws w, if n is covered (a GPU index
// outside a node's mask is on no slot: nothing reads it).
func (d *victimDraws) set(n, g int, w float64) {
	if b := int(d.block[n]) - 1; b >= 0 && g >= 0 && g < 64 {
		d.w[b*64+g] = w
		d.has[b] |= 1 << g
	}
}

// at is what GPU g of node n draws, if a victim's GPU.
func (d *victimDraws) at(n, g int) (float64, bool) {
	if b := int(d.block[n]) - 1; b >= 0 && g >= 0 && g < 64 && d.has[b]&(1<<g) != 0 {
		return d.w[b*64+g], true
	}
	return 0, false
}

// victimWatts is what each GPU of the allocations gone draws now, on
// the nodes of slots (the only ones holdRoom reads: a gang evicted for a
// small job has most of its GPUs elsewhere). The answer is valid until
// the next call.
func (p *pass) victimWatts(gone []*model.Allocation, slots []place.Slot) *victimDraws {
	d := &p.scratchMaps().victims
	d.reset(len(p.c.Nodes))
	for _, s := range slots {
		d.cover(s.Node)
	}
	for _, v := range gone {
		for _, r := range v.Replicas {
			n, ok := p.c.NodeIndex[r.Node]
			if !ok || d.block[n] == 0 || p.c.Nodes[n].Model < 0 {
				continue
			}
			w := p.c.GPUWatts(p.c.Nodes[n].Model, r.PowerCapW)
			for _, g := range r.GPUs {
				d.set(n, g, w)
			}
		}
	}
	return d
}

// releaseAlloc gives back, in the pass's view, what allocation a holds.
func (p *pass) releaseAlloc(a *model.Allocation) {
	for _, r := range a.Replicas {
		if n, ok := p.c.NodeIndex[r.Node]; ok {
			p.c.Release(n, r.GPUs, a.Job, r.PowerCapW)
		}
	}
}

// heldForJob is GPUs of a node held for a job that waits for its victims.
type heldForJob struct {
	job        string
	node, gpus int
}

// heldFrom counts the GPUs held on nodes request r could otherwise use
// (its model, its sites, up) and names the first job they are held for.
func (p *pass) heldFrom(r *place.Request) (gpus int, job string) {
	for _, h := range p.held {
		nd := &p.c.Nodes[h.node]
		if nd.Model != r.Model || !nd.Up || r.Sites != nil && (nd.Site < 0 || !r.Sites[nd.Site]) {
			continue
		}
		if gpus == 0 {
			job = h.job
		}
		gpus += h.gpus
	}
	return gpus, job
}
