package sched

import (
	"fmt"
	"sort"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/place"
)

// reservation is the EASY-backfill hold of the highest-priority blocked
// job: the GPUs it will use at its estimated start. Later jobs that would
// still run then may use only the spare GPUs of reserved nodes.
type reservation struct {
	job   string
	start model.Time
}

// hold is a blocked job's estimated run: from its estimated start to
// the end of its runtime limit on the GPUs it was estimated to use.
// Later estimates treat held GPUs as busy while the holds overlap them.
type hold struct {
	start, end model.Time
	job        *model.Job
	slots      []place.Slot
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
}

func (p *pass) buildReleases() {
	p.relBuilt = true
	for i := range p.snap.Running {
		a := &p.snap.Running[i]
		if a.Job != nil {
			p.addRelease(a.Job, a.Replicas, a.End())
		}
	}
	for i, st := range p.plan.Starts {
		if j := p.startJobs[i]; j.RuntimeLimit > 0 {
			p.addRelease(j, st.Replicas, p.now.Add(j.RuntimeLimit))
		}
	}
}

func (p *pass) addRelease(j *model.Job, reps []model.Placement, at model.Time) {
	if at >= model.Forever {
		return
	}
	p.releases = append(p.releases, release{at: at, job: j, reps: reps})
	p.relSorted = false
}

func (p *pass) sortReleases() {
	if p.relSorted {
		return
	}
	sort.SliceStable(p.releases, func(a, b int) bool {
		if p.releases[a].at != p.releases[b].at {
			return p.releases[a].at < p.releases[b].at
		}
		return p.releases[a].job.ID < p.releases[b].job.ID
	})
	p.relSorted = true
}

// probe releases the first k releases in a what-if, runs find, and
// rolls back.
func (p *pass) probe(k int, find func() bool) bool {
	p.c.Begin()
	defer p.c.Rollback()
	for _, r := range p.releases[:k] {
		for _, pl := range r.reps {
			if n, ok := p.c.NodeIndex[pl.Node]; ok {
				p.c.Release(n, pl.GPUs, r.job, pl.PowerCapW)
			}
		}
	}
	return find()
}

// earliest finds the first release time at which req fits, by binary
// search over release boundaries (fit is monotone as resources only come
// back). It returns the time, the placement then, and how many GPUs each
// node of the placement has usable then.
func (p *pass) earliest(req place.Request, tenant string) (model.Time, []place.Slot, map[int]int, bool) {
	if !p.relBuilt {
		p.buildReleases()
	}
	p.sortReleases()
	req.Constrained = false
	var bounds []int // k such that releases[k-1] is the last of its instant
	for k := 1; k <= len(p.releases); k++ {
		if k == len(p.releases) || p.releases[k].at != p.releases[k-1].at {
			bounds = append(bounds, k)
		}
	}
	fits := func() bool { res := p.c.Find(&req); return res.OK() }
	lo, hi := 0, len(bounds)
	for lo < hi {
		mid := (lo + hi) / 2
		if p.probe(bounds[mid], fits) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if lo == len(bounds) {
		return 0, nil, nil, false
	}
	// Holds only delay a start, so the instant found above is a lower
	// bound; step forward through later release and hold-end instants.
	steps := []model.Time{p.releases[bounds[lo]-1].at}
	if len(p.holds) > 0 {
		seen := map[model.Time]bool{steps[0]: true}
		for _, b := range bounds[lo:] {
			if t := p.releases[b-1].at; !seen[t] {
				seen[t] = true
				steps = append(steps, t)
			}
		}
		for _, h := range p.holds {
			if h.end > steps[0] && h.end < model.Forever && !seen[h.end] {
				seen[h.end] = true
				steps = append(steps, h.end)
			}
		}
		sort.Slice(steps, func(a, b int) bool { return steps[a] < steps[b] })
		if len(steps) > maxHoldSteps {
			steps = steps[:maxHoldSteps]
		}
	}
	k := bounds[lo]
	for _, at := range steps {
		for k < len(p.releases) && p.releases[k].at <= at {
			k++
		}
		var slots []place.Slot
		usable := map[int]int{}
		end := at.Add(limitOf(req.Job))
		ok := p.probe(k, func() bool {
			for _, h := range p.holds {
				if h.start < end && h.end > at {
					for _, s := range h.slots {
						p.c.Alloc(s.Node, s.GPUs, h.job, 0, false)
					}
				}
			}
			res := p.c.Find(&req)
			slots = res.Slots
			for _, s := range slots {
				usable[s.Node] = p.c.Usable(s.Node, tenant)
			}
			return res.OK()
		})
		if ok {
			return at, slots, usable, true
		}
	}
	return 0, nil, nil, false
}

// limitOf is a job's runtime limit, or "forever" without one.
func limitOf(j *model.Job) model.Duration {
	if j == nil || j.RuntimeLimit <= 0 {
		return model.Duration(model.Forever)
	}
	return j.RuntimeLimit
}

// reserveOrEstimate gives the first capacity-blocked job a reservation
// (EASY backfill) and the next BackfillDepth ones an estimated start.
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
	if j.Kind == model.KindDeployment || p.estimates >= max(1, p.pol.BackfillDepth) {
		return first, 0
	}
	p.estimates++
	a.req.Job = j
	at, slots, then, ok := p.earliest(a.req, j.Tenant)
	if !ok {
		return first, 0
	}
	p.holds = append(p.holds, hold{start: at, end: at.Add(limitOf(j)), job: j, slots: slots})
	if p.res != nil {
		return first, at
	}
	p.res = &reservation{job: j.ID, start: at}
	reserved := map[int]int{}
	var names []string
	for _, s := range slots {
		if reserved[s.Node] == 0 {
			names = append(names, p.c.Nodes[s.Node].Spec.Name)
		}
		reserved[s.Node] += len(s.GPUs)
	}
	for n, k := range reserved {
		p.c.Nodes[n].Spare = max(0, then[n]-k)
	}
	sort.Strings(names)
	p.plan.Reservations = append(p.plan.Reservations, model.Reservation{Job: j.ID, Nodes: names, EstStart: at})
	first.msg += fmt.Sprintf("; reserved %d node(s) from ~%s", len(names), at.Clock())
	return first, at
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
// sites (backfill off). It fails when nothing is left.
func (p *pass) strictCheck(j *model.Job, r *place.Request) (verdict, bool) {
	if len(p.strictBlock) == 0 {
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
	if !any {
		return verdict{code: model.ReasonPriority, msg: fmt.Sprintf(
			"priority: waiting behind job %s (backfill is off)", blocker)}, false
	}
	r.Sites, r.SitesID = sites, p.maskID(sites)
	return verdict{}, true
}
