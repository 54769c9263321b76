package sched

import (
	"fmt"
	"slices"
	"sort"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/place"
)

// reservation is the EASY-backfill hold of the highest-priority blocked
// job: the GPUs it will use at its estimated start. Later jobs that would
// still run then may use only the spare GPUs of reserved nodes, and only
// the quota left then once the job has its own (see availableFor).
type reservation struct {
	job   string
	start model.Time
	quota resQuota
}

// hold is a blocked job's estimated run: from its estimated start to
// the end of its runtime limit on the GPUs it was estimated to use.
// Later estimates treat held GPUs as busy while the holds overlap them.
type hold struct {
	start, end model.Time
	job        *model.Job
	slots      []place.Slot
	masks      []heldGPUs // slots by node, for roomUnderHolds
}

// maxHoldSteps bounds the instants an estimate tries after the first
// one at which it fits without holds.
const maxHoldSteps = 64

// release is a running (or just started) job giving its resources back
// at its runtime limit, or a preempted job at its eviction.
type release struct {
	at   model.Time
	job  *model.Job
	reps []model.Placement
	idx  int      // the allocation's index in the snapshot; -1 for a start or a kept one
	h    *holding // a kept release's holding, whose nodes it uses
}

// buildReleases lists the releases of the running allocations and of
// the pass's starts so far; later starts add theirs (addRelease).
func (p *pass) buildReleases() {
	p.relBuilt = true
	if p.keptReleases() {
		return
	}
	for i := range p.snap.Running {
		a := &p.snap.Running[i]
		if a.Job != nil {
			p.addRelease(a.Job, a.Replicas, a.End(), i)
		}
	}
	for i, st := range p.plan.Starts {
		if j := p.startJobs[i]; j.RuntimeLimit > 0 {
			p.addRelease(j, st.Replicas, p.now.Add(j.RuntimeLimit), -1)
		}
	}
}

func (p *pass) addRelease(j *model.Job, reps []model.Placement, at model.Time, idx int) {
	if at >= model.Forever {
		return
	}
	at = max(at, p.now) // an overdue job is expected to end any moment
	p.releases = append(p.releases, release{at: at, job: j, reps: reps, idx: idx})
	p.boundsStale = true
	if p.herd != nil {
		p.herdCount(&p.releases[len(p.releases)-1], 0, p.herd.slots, 1)
	}
}

func releaseLess(a, b release) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.job.ID < b.job.ID
}

// sortReleases sorts the releases added since the last call and merges
// them into the sorted prefix (releases[:sorted]).
func (p *pass) sortReleases() {
	if !p.boundsStale {
		return
	}
	tail := p.releases[p.relSortedN:]
	sort.Slice(tail, func(a, b int) bool { return releaseLess(tail[a], tail[b]) })
	if p.relSortedN > 0 && len(tail) > 0 {
		merged := make([]release, 0, len(p.releases))
		a, b := p.releases[:p.relSortedN], tail
		for len(a) > 0 && len(b) > 0 {
			if releaseLess(b[0], a[0]) {
				merged, b = append(merged, b[0]), b[1:]
			} else {
				merged, a = append(merged, a[0]), a[1:]
			}
		}
		merged = append(append(merged, a...), b...)
		p.releases = merged
	}
	p.relSortedN = len(p.releases)
	p.boundsStale = false
	p.bounds = p.bounds[:0]
	for k := 1; k <= len(p.releases); k++ {
		if k == len(p.releases) || p.releases[k].at != p.releases[k-1].at {
			p.bounds = append(p.bounds, k)
		}
	}
}

// earliest finds the first instant at which req fits as running jobs
// release their resources, and the placement then. Without holds fit is
// monotone in time (unless a GPU capped below its idle draw ends, which
// raises the load; valid facilities have none): a galloping search finds
// the first release boundary that fits, then a binary search narrows it. Holds (the estimated runs
// of jobs queued ahead) only delay a start, so from that instant it steps
// through later release and hold-end instants (at most maxHoldSteps).
// It returns the time, the placement, and, when wantThen (a reservation
// needs it), how many GPUs each node of the placement has usable then.
func (p *pass) earliest(req place.Request, tenant string, wantThen bool) (model.Time, []place.Slot, *futureState, bool) {
	if !p.relBuilt {
		p.buildReleases()
	}
	p.sortReleases()
	req.Constrained = false
	req.Probe = true // only whether it fits at each instant
	bounds := p.bounds
	if len(bounds) == 0 {
		return 0, nil, nil, false
	}
	var need []bool
	if shortcuts {
		need = p.neededParts(&req)
	}
	tl := p.newTimeline(need)
	defer p.c.Rollback()
	// Without holds, the instant found would be tried again below
	// exactly as the search probed it: the search keeps its last fit,
	// and places the job there once, at the end. Its probes only ask
	// whether the job fits (Exists).
	fitK := -1
	exists := req
	exists.Exists = true
	// Find weighs each replica's power on its own node; a gang's start
	// also needs the power of all its replicas together (powerFor), and
	// so does its estimate; so does any start of a model that a site's
	// power share bars (shareBars). Else the estimate would find room
	// the start never gets, at the first release anywhere: an instant
	// outside what the kept estimate watches (estmemo.go).
	checkPower := p.pol.Power && req.GPUs > 0 && (req.Replicas > 1 || p.shareBars(req.Model))
	// powered is the placement res, or another one poweredGang finds,
	// if it has the power
	powered := func(res place.Result) ([]place.Slot, bool) {
		if !res.OK() {
			return nil, false
		}
		if !checkPower {
			return res.Slots, true
		}
		got, _, _, ok := p.poweredGang(&req, res, false)
		return got.Slots, ok
	}
	// a failed probe leaves its releases applied: the search goes on
	// from there
	probeAt := func(k int) bool {
		return tl.probe(k, 0, 0, shortcuts, func(c *place.Cluster) bool {
			if shortcuts && !p.roomUnderHolds(&req, nil, 0, 0) {
				return false // certain: too few powered GPUs
			}
			res := c.Find(&exists)
			ok := res.OK()
			if ok && checkPower {
				full := c.Find(&req)
				_, ok = powered(full)
			}
			if ok && len(p.holds) == 0 {
				fitK = k
			}
			return ok
		})
	}
	// gallop: base does not fit (or is -1, now); hi fits. Boundaries
	// before the first at which the pools could hold the GPUs asked for
	// cannot fit: where fit is monotone, the gallop starts there.
	base, hi, step := -1, -1, 1
	first := 0
	monotone := shortcuts && !p.prep.capBelowIdle && p.tally.lowCaps == 0
	if monotone {
		first = p.firstEnoughGPUs(&req, bounds)
	}
	switch {
	case first == len(bounds):
		p.noteHint(req.Job, req.Model, model.Forever)
		return 0, nil, nil, false
	case first > 0:
		tl.advance(bounds[first-1])
		base = first - 1
	}
	// Where fit is monotone, the last estimate of the job is where to
	// look first: the first boundary that fits is the one that fits
	// while the one before does not, however it was found.
	if h := p.hintBound(req.Job, req.Model, bounds); monotone && h > base {
		p.prep.hints.used++
		if h-1 > base {
			if probeAt(bounds[h-1]) {
				hi = h - 1
			} else {
				tl.advance(bounds[h-1])
				base = h - 1
			}
		}
		if hi < 0 {
			if probeAt(bounds[h]) {
				hi = h
				p.prep.hints.right++
			} else if h == len(bounds)-1 {
				p.prep.hints.right++ // fits at no boundary
				p.noteHint(req.Job, req.Model, model.Forever)
				return 0, nil, nil, false
			} else {
				tl.advance(bounds[h])
				base = h
			}
		}
	}
	for hi < 0 {
		i := min(base+step, len(bounds)-1)
		if probeAt(bounds[i]) {
			hi = i
			break
		}
		if i == len(bounds)-1 {
			p.noteHint(req.Job, req.Model, model.Forever)
			return 0, nil, nil, false
		}
		tl.advance(bounds[i])
		base, step = i, step*2
	}
	lo := base + 1
	for lo < hi {
		mid := (lo + hi) / 2
		if probeAt(bounds[mid]) {
			hi = mid
		} else {
			tl.advance(bounds[mid])
			lo = mid + 1
		}
	}
	p.noteHint(req.Job, req.Model, p.releases[bounds[hi]-1].at)
	if shortcuts && fitK == bounds[hi] {
		// the cluster as the probe at fitK saw it (no holds), so the
		// job fits; should it not, the steps below try again
		tl.advance(fitK)
		if slots, ok := powered(p.c.Find(&req)); ok {
			var then *futureState
			if wantThen {
				then = p.capture(p.c, slots, tenant)
			}
			return p.releases[fitK-1].at, slots, then, true
		}
	}
	end := func(at model.Time) model.Time { return at.Add(limitOf(req.Job)) }
	var slots []place.Slot
	var then *futureState
	try := func(k int, at model.Time) bool {
		return tl.probe(k, at, end(at), false, func(c *place.Cluster) bool {
			var ok bool
			slots, ok = powered(c.Find(&req))
			if ok && wantThen {
				then = p.capture(c, slots, tenant)
			}
			return ok
		})
	}
	for _, st := range p.steps(bounds, hi) {
		tl.advance(st.k)
		if shortcuts && !p.roomUnderHolds(&req, p.holds, st.at, end(st.at)) {
			continue // certain to fail: no probe
		}
		if try(st.k, st.at) {
			return st.at, slots, then, true
		}
	}
	return 0, nil, nil, false
}

// shortcuts lets earliest skip boundaries with too few free GPUs,
// reuse its search's last fit, keep the releases a failed probe applied,
// leave out releases in power parts its request cannot use and rule out,
// without a Find, instants where too few GPUs with power are left
// (roomUnderHolds); a test turns it off to check that none changes a
// plan.
var shortcuts = true

// firstEnoughGPUs is the index of the first release boundary at which
// the pools of req's model on its sites have at least as many free GPUs
// as req asks for (len(bounds) when none has). Counting a release's GPUs
// whether or not they are still held, and free GPUs on nodes req could
// not use, only errs towards "enough", so no boundary before it fits.
func (p *pass) firstEnoughGPUs(req *place.Request, bounds []int) int {
	need := req.Replicas * req.GPUs
	if need <= 0 {
		return 0
	}
	in := p.poolIn[:0]
	free := 0
	for i := range p.c.Pools {
		pool := &p.c.Pools[i]
		ok := pool.Model == req.Model && (req.Sites == nil || req.Sites[pool.Site])
		in = append(in, ok)
		if ok {
			free += pool.Free
		}
	}
	p.poolIn = in
	k := 0
	for b, end := range bounds {
		for ; k < end; k++ {
			r := &p.releases[k]
			for i, pl := range r.reps {
				if n, ok := p.releaseNode(r, i); ok {
					if pool := p.c.Nodes[n].Pool; pool >= 0 && in[pool] {
						free += len(pl.GPUs)
					}
				}
			}
		}
		if free >= need {
			return b
		}
	}
	return len(bounds)
}

// futureState is what a reservation needs to know of the cluster at its
// start, slot by slot of the placement (slots on one node read alike):
// the node's usable GPUs, CPUs and memory, and the power load of its
// site, hall and rack.
type futureState struct {
	slots []slotThen
}

type slotThen struct {
	gpus, cpus, mem     int
	siteW, hallW, rackW float64
}

// backfillScratch is memory a reservation's bookkeeping reuses, pass
// after pass: capture's future state and holdSpares' sums, by node and
// by container index, with the indices touched.
type backfillScratch struct {
	then                futureState
	nodes               []spareSum
	touched             []int32
	site, hall, rack    []powerSum
	sites, halls, racks []int32
	// victims is victimWatts' answer, valid until its next call
	victims victimDraws
}

// spareSum is what a reservation takes of one node; then is the node's
// captured state.
type spareSum struct {
	on              bool
	gpus, cpus, mem int
	then            *slotThen
}

// powerSum is what a reservation adds to one container at TDP, and the
// container's load at the start.
type powerSum struct {
	on       bool
	addW, at float64
}

func (p *pass) scratchMaps() *backfillScratch {
	c := p.c
	if sc := p.scratch; sc == nil || len(sc.nodes) != len(c.Nodes) || len(sc.site) != len(c.Sites) ||
		len(sc.hall) != len(c.Halls) || len(sc.rack) != len(c.Racks) {
		p.scratch = &backfillScratch{nodes: make([]spareSum, len(c.Nodes)),
			site: make([]powerSum, len(c.Sites)), hall: make([]powerSum, len(c.Halls)), rack: make([]powerSum, len(c.Racks))}
	}
	return p.scratch
}

// capture is the future state of the nodes of slots on c; it is valid
// until the next capture of the pass or the next pass.
func (p *pass) capture(c *place.Cluster, slots []place.Slot, tenant string) *futureState {
	f := &p.scratchMaps().then
	f.slots = f.slots[:0]
	for _, s := range slots {
		nd := &c.Nodes[s.Node]
		t := slotThen{gpus: c.Usable(s.Node, tenant), cpus: nd.FreeCPU, mem: nd.FreeMem}
		if nd.Site >= 0 {
			t.siteW = c.Sites[nd.Site].LoadW
		}
		if nd.Hall >= 0 {
			t.hallW = c.Halls[nd.Hall].LoadW
		}
		if nd.Rack >= 0 {
			t.rackW = c.Racks[nd.Rack].LoadW
		}
		f.slots = append(f.slots, t)
	}
	return f
}

// hold sets the spares of a reservation: on each reserved node what the
// node will have free at the start beyond the reserved job's needs, and
// in each site, hall and rack it uses the power left at the start once
// the reserved job runs at TDP.
func (p *pass) holdSpares(r *place.Request, slots []place.Slot, then *futureState) {
	sc := p.scratchMaps()
	gm := p.c.Models[r.Model]
	perGPU := float64(gm.TDPWatts - gm.IdleWatts)
	add := func(sums []powerSum, list *[]int32, i int, w, at float64) {
		if i < 0 {
			return
		}
		if !sums[i].on {
			sums[i] = powerSum{on: true}
			*list = append(*list, int32(i))
		}
		sums[i].addW += w
		sums[i].at = at
	}
	for i, s := range slots {
		t := &then.slots[i]
		ns := &sc.nodes[s.Node]
		if !ns.on {
			*ns = spareSum{on: true}
			sc.touched = append(sc.touched, int32(s.Node))
		}
		ns.gpus += len(s.GPUs)
		ns.cpus += r.CPUs
		ns.mem += r.Mem
		ns.then = t
		nd := &p.c.Nodes[s.Node]
		w := float64(len(s.GPUs)) * perGPU
		add(sc.site, &sc.sites, nd.Site, w, t.siteW)
		add(sc.hall, &sc.halls, nd.Hall, w, t.hallW)
		add(sc.rack, &sc.racks, nd.Rack, w, t.rackW)
	}
	for _, n := range sc.touched {
		ns := &sc.nodes[n]
		gpus, cpus, mem := max(0, ns.then.gpus-ns.gpus), max(0, ns.then.cpus-ns.cpus), max(0, ns.then.mem-ns.mem)
		if r.ExclusiveNode {
			gpus, cpus, mem = 0, 0, 0 // it needs the node to itself then
		}
		p.c.SetSpare(int(n), gpus, cpus, mem, r.Tenant, r.TenantExcl)
		*ns = spareSum{}
	}
	sc.touched = sc.touched[:0]
	spare := func(pw []place.Power, sums []powerSum, list []int32) []int32 {
		for _, i := range list {
			if ps := &sums[i]; pw[i].LimitW > 0 {
				p.c.SetPowerSpare(&pw[i], max(0, pw[i].LimitW-ps.at-ps.addW))
			}
			sums[i] = powerSum{}
		}
		return list[:0]
	}
	sc.sites = spare(p.c.Sites, sc.site, sc.sites)
	sc.halls = spare(p.c.Halls, sc.hall, sc.halls)
	sc.racks = spare(p.c.Racks, sc.rack, sc.racks)
}

type step struct {
	at model.Time
	k  int // releases applied at that instant
}

// steps lists the instants to try from bounds[from] on: release
// boundaries and, when holds exist, hold ends, at most maxHoldSteps.
func (p *pass) steps(bounds []int, from int) []step {
	at0 := p.releases[bounds[from]-1].at
	out := []step{{at0, bounds[from]}}
	if len(p.holds) == 0 {
		return out
	}
	var ends []model.Time
	for _, h := range p.holds {
		if h.end > at0 && h.end < model.Forever {
			ends = append(ends, h.end)
		}
	}
	sort.Slice(ends, func(a, b int) bool { return ends[a] < ends[b] })
	bi, ei := from+1, 0
	for len(out) < maxHoldSteps && (bi < len(bounds) || ei < len(ends)) {
		var at model.Time
		if ei >= len(ends) || (bi < len(bounds) && p.releases[bounds[bi]-1].at <= ends[ei]) {
			at = p.releases[bounds[bi]-1].at
		} else {
			at = ends[ei]
		}
		for bi < len(bounds) && p.releases[bounds[bi]-1].at <= at {
			bi++
		}
		for ei < len(ends) && ends[ei] <= at {
			ei++
		}
		k := bounds[from]
		if bi > 0 {
			k = max(k, bounds[bi-1])
		}
		if at > out[len(out)-1].at {
			out = append(out, step{at, k})
		}
	}
	return out
}

// limitOf is a job's runtime limit, or "forever" without one.
func limitOf(j *model.Job) model.Duration {
	if j == nil || j.RuntimeLimit <= 0 {
		return model.Duration(model.Forever)
	}
	return j.RuntimeLimit
}

// reserveOrEstimate gives the first capacity-blocked job a reservation
// (EASY backfill) and the next ones an estimated start, BackfillDepth
// estimates in all. A quick pass stops once the reservation is made,
// since the other jobs' estimates come from full passes; an estimate
// that finds no start does not make the reservation, so both passes
// give it to the same job.
// With backfill off, a blocked job instead blocks its pools for every
// later job (strict order).
func (p *pass) reserveOrEstimate(j *model.Job, first verdict, atts []attempt) (verdict, model.Time) {
	var a *attempt
	for i := range atts {
		if atts[i].v.capacity {
			a = &atts[i]
			break
		}
	}
	if a == nil {
		return first, 0
	}
	if !p.pol.Backfill {
		p.block(j, &a.req)
		return first, 0
	}
	if p.pol.NoReservation { // greedy first fit: nothing is held for j
		return first, 0
	}
	if j.Kind == model.KindDeployment || p.estimates >= max(1, p.pol.BackfillDepth) || p.quick && p.res != nil {
		return first, 0
	}
	p.estimates++
	a, at, slots, then := p.earliestModel(j, atts)
	if a == nil {
		return first, 0
	}
	p.holds = append(p.holds, hold{start: at, end: at.Add(limitOf(j)), job: j, slots: slots, masks: heldMasks(p.c, slots)})
	if p.res != nil {
		return first, at
	}
	p.res = &reservation{job: j.ID, start: at}
	if ti := p.q.Tenant(j.Tenant); p.pol.Quotas && ti >= 0 && j.GPUsPerReplica > 0 {
		p.res.quota = resQuota{ti: ti, tenant: j.Tenant, model: a.model, gpus: p.need(j)}
	}
	names := make([]string, 0, len(slots))
	for _, s := range slots {
		names = append(names, p.c.Nodes[s.Node].Spec.Name)
	}
	p.holdSpares(&a.req, slots, then)
	slices.Sort(names)
	names = slices.Compact(names) // a node with several replicas is named once
	p.plan.Reservations = append(p.plan.Reservations, model.Reservation{Job: j.ID, Nodes: names, EstStart: at})
	first.msg += fmt.Sprintf("; reserved %d node(s) from ~%s", len(names), at.Clock())
	return first, at
}

// earliestModel estimates j's start on each model blocked by capacity
// and returns the attempt of the earliest, ties going to the model j
// prefers (nil when no model can hold j at any time). Taking the first
// model that can hold it at some time reserved a job that accepts two
// models on the one it could start on hours later, and held nothing on
// the other (testdata/sched/backfill_models_earliest.txt). A model
// whose nodes never could (too few, too small) is passed over: it would
// leave the job with no reservation and give it to a later job. Jobs of
// one model estimate once, as before.
func (p *pass) earliestModel(j *model.Job, atts []attempt) (*attempt, model.Time, []place.Slot, *futureState) {
	var best *attempt
	var at model.Time
	var slots []place.Slot
	var then *futureState
	wantThen := p.res == nil
	for i := range atts {
		a := &atts[i]
		if !a.v.capacity {
			continue
		}
		a.req.Job = j
		t, s, th, ok := p.estimate(a.req, j.Tenant, wantThen)
		if !ok || best != nil && t >= at {
			continue
		}
		best, at, slots, then = a, t, s, th
		if th != nil && slices.ContainsFunc(atts[i+1:], func(o attempt) bool { return o.v.capacity }) {
			// the next estimate captures into the same scratch
			then = &futureState{slots: slices.Clone(th.slots)}
		}
	}
	return best, at, slots, then
}

// block marks every pool the job could use as held by it (backfill off).
func (p *pass) block(j *model.Job, r *place.Request) {
	for pi := range p.c.Pools {
		pool := &p.c.Pools[pi]
		if pool.Model == r.Model && (r.Sites == nil || r.Sites[pool.Site]) {
			if _, ok := p.strictBlock[pi]; !ok {
				p.strictBlock[pi] = j.ID
			}
		}
	}
}

// strictCheck removes pools held by an earlier blocked job from r's
// sites (backfill off). It fails when nothing is left. Answers are kept
// for the pass by model, allowed sites and how many pools are held
// (holds only grow during a pass).
func (p *pass) strictCheck(j *model.Job, r *place.Request) (verdict, bool) {
	if len(p.strictBlock) == 0 {
		return verdict{}, true
	}
	k := strictKey{model: r.Model, sites: r.SitesID, held: len(p.strictBlock)}
	if a, ok := p.strictMemo[k]; ok {
		if !a.ok {
			return a.v, false
		}
		r.Sites, r.SitesID = a.sites, a.id
		return verdict{}, true
	}
	sites := make([]bool, len(p.fac.Sites))
	any, blocker := false, ""
	for pi := range p.c.Pools {
		pool := &p.c.Pools[pi]
		if pool.Model != r.Model || (r.Sites != nil && !r.Sites[pool.Site]) {
			continue
		}
		if b, held := p.strictBlock[pi]; held {
			if blocker == "" {
				blocker = b
			}
			continue
		}
		sites[pool.Site], any = true, true
	}
	if !any && blocker == "" {
		// no pool of the model in the job's sites, held or not: nothing
		// to wait behind; the placement's own reason says what is missing
		p.strictMemo[k] = strictAnswer{ok: true, sites: r.Sites, id: r.SitesID}
		return verdict{}, true
	}
	if !any {
		v := verdict{code: model.ReasonPriority, msg: fmt.Sprintf(
			"priority: waiting behind job %s (backfill is off)", blocker)}
		p.strictMemo[k] = strictAnswer{v: v}
		return v, false
	}
	r.Sites, r.SitesID = sites, p.maskID(sites)
	p.strictMemo[k] = strictAnswer{ok: true, sites: r.Sites, id: r.SitesID}
	return verdict{}, true
}

// strictKey and strictAnswer are strictCheck's memo.
type strictKey struct{ model, sites, held int }

type strictAnswer struct {
	ok    bool
	v     verdict
	sites []bool // read only once handed out
	id    int
}
