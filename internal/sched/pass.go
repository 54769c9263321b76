package sched

import (
	"sort"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/place"
	"github.com/carnot-dc/carnot/internal/sched/quota"
)

// pass holds the working state of one Schedule call. Nothing in it
// outlives the call.
type pass struct {
	snap    *model.Snapshot
	fac     *model.Facility
	pol     model.Policy
	now     model.Time
	c       *place.Cluster
	q       *quota.Tree
	tenants map[string]*model.Tenant
	classes map[string]*model.PriorityClass
	shares  map[string]*float64 // fair-share usage per weight, in GPUs
	weights map[string]float64
	plan    model.Plan

	running      map[string]*model.Allocation // by job ID
	waitingFor   map[string][]*model.Allocation
	victims      map[string]bool // chosen in this pass
	recentPreem  int
	preemptTries int

	siteMasks map[string][]bool
	memo      map[memoKey]verdict

	res         *reservation
	estimates   int
	strictBlock map[int]string // pool → blocking job when backfill is off
	releases    []release      // lazily built
	relBuilt    bool
	relSorted   bool
	startJobs   []*model.Job // parallel to plan.Starts
}

// verdict is why a job did not start: a reason code and a message.
type verdict struct {
	code model.ReasonCode
	msg  string
	// placement failure that a reservation or preemption could cure
	capacity bool
}

func newPass(snap *model.Snapshot, now model.Time) *pass {
	fac := snap.Facility
	p := &pass{
		snap: snap, fac: fac, pol: fac.Policy, now: now,
		tenants:    make(map[string]*model.Tenant, len(fac.Tenants)),
		classes:    make(map[string]*model.PriorityClass, len(fac.PriorityClasses)),
		shares:     make(map[string]*float64, len(fac.Tenants)),
		weights:    make(map[string]float64, len(fac.Tenants)),
		running:    make(map[string]*model.Allocation, len(snap.Running)),
		waitingFor: map[string][]*model.Allocation{},
		victims:    map[string]bool{},
		siteMasks:  map[string][]bool{},
		memo:       map[memoKey]verdict{},
	}
	p.plan.Now = now
	for i := range fac.Tenants {
		t := &fac.Tenants[i]
		p.tenants[t.Name] = t
		w := t.FairShareWeight
		if w <= 0 {
			w = 1
		}
		p.weights[t.Name] = w
		p.shares[t.Name] = new(float64)
	}
	for i := range fac.PriorityClasses {
		p.classes[fac.PriorityClasses[i].Name] = &fac.PriorityClasses[i]
	}
	p.c = place.New(snap)
	models := make([]string, len(p.c.Models))
	for i, m := range p.c.Models {
		models[i] = m.Name
	}
	p.q = quota.New(fac, models)
	for i := range snap.Running {
		a := &snap.Running[i]
		if a.Job == nil {
			continue
		}
		p.running[a.Job.ID] = a
		if a.Terminating && a.PreemptedFor != "" {
			p.waitingFor[a.PreemptedFor] = append(p.waitingFor[a.PreemptedFor], a)
		}
		p.account(a.Job, a.Replicas, 1)
	}
	halfLife := p.pol.FairShareHalfLife
	for _, u := range snap.Usage {
		s := p.shares[u.Tenant]
		if s == nil || halfLife <= 0 {
			continue
		}
		*s += decay(u.GPUSeconds, u.AsOf, now, halfLife) / float64(halfLife) / p.weights[u.Tenant]
	}
	if p.pol.PreemptionRateLimit > 0 {
		for _, t := range snap.RecentPreemptions {
			if t <= now && now.Sub(t) < p.pol.PreemptionWindow {
				p.recentPreem++
			}
		}
	}
	if !p.pol.Backfill {
		p.strictBlock = map[int]string{}
	}
	return p
}

// account adds (sign 1) or removes (sign -1) a job's placements from the
// quota tree and the tenant's fair-share usage.
func (p *pass) account(j *model.Job, reps []model.Placement, sign int) {
	ti := p.q.Tenant(j.Tenant)
	for _, r := range reps {
		n, ok := p.c.NodeIndex[r.Node]
		if !ok {
			continue
		}
		m := p.c.Nodes[n].Model
		if ti >= 0 && m >= 0 {
			p.q.Add(ti, m, int64(sign*len(r.GPUs)))
		}
		if s := p.shares[j.Tenant]; s != nil {
			*s += float64(sign*len(r.GPUs)) / p.weights[j.Tenant]
		}
	}
}

func (p *pass) priority(j *model.Job) int {
	if c := p.classes[j.PriorityClass]; c != nil {
		return c.Value
	}
	return 0
}

// sitesFor returns the allowed-site mask of a job (nil = every site) and
// the tags it was computed from.
func (p *pass) sitesFor(t *model.Tenant, j *model.Job) ([]bool, []string, bool) {
	tags, ok := allowedTags(t, j)
	if !ok {
		return nil, tags, false
	}
	if len(tags) == 0 {
		return nil, nil, true
	}
	key := strings.Join(tags, ",")
	if m, ok := p.siteMasks[key]; ok {
		return m, tags, true
	}
	m := make([]bool, len(p.fac.Sites))
	for i := range p.fac.Sites {
		m[i] = siteAllowed(&p.fac.Sites[i], tags)
	}
	p.siteMasks[key] = m
	return m, tags, true
}

// modelsFor lists the model indices a job accepts, in its order of
// preference (catalog order when it names none).
func (p *pass) modelsFor(j *model.Job) []int {
	if len(j.GPUModels) == 0 {
		out := make([]int, 0, len(p.c.Models))
		for i := range p.c.Models {
			out = append(out, i)
		}
		return out
	}
	out := make([]int, 0, len(j.GPUModels))
	for _, name := range j.GPUModels {
		if i, ok := p.c.ModelIndex[name]; ok {
			out = append(out, i)
		}
	}
	return out
}

func (p *pass) modelName(m int) string { return p.c.Models[m].Name }

func (p *pass) pending(j *model.Job, v verdict, est model.Time) {
	p.plan.Pending = append(p.plan.Pending, model.Pending{Job: j.ID, Code: v.code, Message: v.msg, EstStart: est})
}

// finish sorts the plan's lists into a canonical order.
func (p *pass) finish() model.Plan {
	pl := p.plan
	sort.Slice(pl.Pending, func(a, b int) bool { return pl.Pending[a].Job < pl.Pending[b].Job })
	sort.Slice(pl.Deferrals, func(a, b int) bool { return pl.Deferrals[a].Job < pl.Deferrals[b].Job })
	return pl
}
