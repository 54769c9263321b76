package sched

import (
	"fmt"
	"math"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/place"
)

// memoKey identifies a placement question. Free capacity and power
// headroom only shrink during a pass, so a question that failed once
// fails again and its verdict is reused.
type memoKey struct {
	tenant      string // set only when the answer depends on the tenant
	model       int
	sites       int
	replicas    int
	gpus        int
	cpus        int
	mem         int
	level       int
	required    bool
	exclusive   bool
	constrained bool
}

// request builds the placement request of job j on model m.
func (p *pass) request(t *model.Tenant, j *model.Job, m int, sites []bool) place.Request {
	r := place.Request{
		Tenant: j.Tenant, TenantExcl: t.Exclusive == model.ExclusiveNode, ExclusiveNode: j.ExclusiveNode,
		Model: m, Sites: sites, SitesID: p.curSites, Replicas: j.Replicas, GPUs: j.GPUsPerReplica,
		CPUs: j.CPUsPerReplica, Mem: j.MemGiBPerReplica, Level: place.NumLevels,
	}
	if j.Kind == model.KindDeployment {
		r.Replicas = 1
	}
	if p.pol.Topology {
		for i, l := range place.Levels {
			if l == j.Topology.Level {
				r.Level, r.Required = i, j.Topology.Required
			}
		}
		if j.Topology.Level == model.LevelNode {
			r.Level, r.Required = 0, false
		}
	}
	if p.pol.Power {
		gm := p.c.Models[m]
		w := gm.TDPWatts
		if p.pol.PowerCapping && gm.CanCap() {
			w = gm.MinCapWatts
		}
		r.MinWattsPerReplica = float64(j.GPUsPerReplica * max(0, w-gm.IdleWatts))
	}
	if p.res != nil {
		r.Constrained = j.RuntimeLimit <= 0 || p.now.Add(j.RuntimeLimit) > p.res.start
	}
	return r
}

func (p *pass) key(r *place.Request) memoKey {
	k := memoKey{model: r.Model, replicas: r.Replicas, gpus: r.GPUs, cpus: r.CPUs, mem: r.Mem,
		level: r.Level, required: r.Required, exclusive: r.ExclusiveNode, constrained: r.Constrained}
	k.sites = r.SitesID
	if r.TenantExcl || p.sensitive {
		k.tenant = r.Tenant
	}
	return k
}

// place finds room for j on attempt a's model, checks power, and starts
// the job. On failure a.v says why.
func (p *pass) place(j *model.Job, a *attempt, tags []string) bool {
	if j.Kind == model.KindDeployment {
		return p.placeDeployment(j, a, tags)
	}
	k := p.key(&a.req)
	if v, ok := p.memo[k]; ok {
		a.v = v
		return false
	}
	res := p.c.Find(&a.req)
	if !res.OK() {
		a.v = p.placementVerdict(j, &a.req, &res, tags)
		p.memo[k] = a.v
		return false
	}
	capW, v, ok := p.powerFor(j, a.model, res.Slots)
	if !ok {
		a.v = v
		p.memo[k] = v
		return false
	}
	p.commit(j, a, res.Slots, capW)
	return true
}

// placeDeployment places up to Replicas independent replicas, starting
// the deployment only if at least MinReplicas fit.
func (p *pass) placeDeployment(j *model.Job, a *attempt, tags []string) bool {
	want, need := j.Replicas, max(1, min(j.MinReplicas, j.Replicas))
	var slots []place.Slot
	var fail verdict
	p.c.Begin()
	for len(slots) < want {
		res := p.c.Find(&a.req)
		if !res.OK() {
			fail = p.placementVerdict(j, &a.req, &res, tags)
			break
		}
		p.c.Alloc(res.Slots[0].Node, res.Slots[0].GPUs, j, 0, a.req.TenantExcl)
		slots = append(slots, res.Slots[0])
	}
	p.c.Rollback()
	for ; len(slots) >= need; slots = slots[:len(slots)-1] {
		capW, v, ok := p.powerFor(j, a.model, slots)
		if ok {
			p.commit(j, a, slots, capW)
			return true
		}
		fail = v
	}
	if fail.code == "" {
		fail = verdict{code: model.ReasonCapacity, capacity: true,
			msg: fmt.Sprintf("capacity: deployment needs %d replicas, fewer fit", need)}
	}
	a.v = fail
	return false
}

// commit records a start and takes its resources.
func (p *pass) commit(j *model.Job, a *attempt, slots []place.Slot, capW int) {
	st := model.Start{Job: j.ID, Replicas: make([]model.Placement, len(slots))}
	gm := p.c.Models[a.model]
	for i, s := range slots {
		p.c.Alloc(s.Node, s.GPUs, j, capW, a.req.TenantExcl)
		nd := &p.c.Nodes[s.Node]
		if a.req.Constrained && nd.Spare >= 0 {
			nd.Spare = max(0, nd.Spare-len(s.GPUs))
		}
		st.Replicas[i] = model.Placement{Node: nd.Spec.Name, GPUs: s.GPUs, PowerCapW: capW}
		st.PowerW += float64(len(s.GPUs)) * (p.c.GPUWatts(a.model, capW) - float64(gm.IdleWatts))
	}
	st.PowerW = math.Round(st.PowerW)
	p.plan.Starts = append(p.plan.Starts, st)
	p.startJobs = append(p.startJobs, j)
	p.account(j, st.Replicas, 1)
	p.started(j, st.Replicas)
}

// started keeps the pass's own starts for later reservations.
func (p *pass) started(j *model.Job, reps []model.Placement) {
	if p.relBuilt && j.RuntimeLimit > 0 {
		p.addRelease(j, reps, p.now.Add(j.RuntimeLimit))
	}
}
