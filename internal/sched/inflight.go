package sched

import (
	"github.com/carnot-dc/carnot/internal/model"
)

// Quota in flight. Who borrows, and so who may lose work by reclaim or
// by priority across tenants, is judged on what each tenant will hold
// once the evictions under way have ended and the jobs they make room
// for have started: its usage, less the GPUs leaving (allocations
// already terminating, and the victims this pass has chosen), plus the
// GPUs promised to its beneficiaries (jobs waiting for their victims,
// and those this pass has preempted for). Judged on usage alone, the
// victims already chosen still counted as their tenant's: three jobs of
// a tenant with nominal quota 16 each reclaimed 8 GPUs from a borrower
// that held 32 of its own 16, which fell to 8, below its nominal quota,
// while the first tenant ended up borrowing 8; the borrower then took
// them back by reclaim, and the pair evicted each other for hours.
// plan.Verify judges the same way (verify_quota.go).

// projected is what tenant ti (an index in p.q) will hold of model m
// once the evictions under way have ended and the jobs they are for
// have started.
func (p *pass) projected(ti, m int) int64 {
	p.inFlight()
	k := ti*len(p.c.Models) + m
	return p.q.Usage(ti, m) - p.leaving[k] + p.promised[k]
}

// inFlight counts, once per pass, the GPUs of the terminating
// allocations by tenant and model, and the GPUs promised to the queued
// jobs they make room for (see promiseModel). Sums of integers: the
// order they are met in does not matter.
func (p *pass) inFlight() {
	if p.inFlightOK {
		return
	}
	p.inFlightOK = true
	n := p.q.Len() * len(p.c.Models)
	p.leaving, p.promised = zeroed(p.leaving, n), zeroed(p.promised, n)
	for _, a := range p.tally.terminating {
		p.leave(a)
	}
	if p.src == nil {
		return
	}
	for id, ws := range p.waitingFor {
		j, ok := p.src.Get(id)
		if !ok {
			continue
		}
		if m := p.promiseModel(j, ws); m >= 0 {
			p.promise(j, m, waitingNeed(j, p.running(j.ID)))
		}
	}
}

// zeroed is s with length n, every element 0, reusing its memory.
func zeroed(s []int64, n int) []int64 {
	if cap(s) < n {
		return make([]int64, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// leave counts allocation a's GPUs as leaving its tenant.
func (p *pass) leave(a *model.Allocation) {
	ti := p.q.Tenant(a.Job.Tenant)
	if ti < 0 {
		return
	}
	for _, r := range a.Replicas {
		if n, ok := p.c.NodeIndex[r.Node]; ok && p.c.Nodes[n].Model >= 0 {
			p.leaving[ti*len(p.c.Models)+p.c.Nodes[n].Model] += int64(len(r.GPUs))
		}
	}
}

// promise counts gpus of model m as promised to job j's tenant.
func (p *pass) promise(j *model.Job, m int, gpus int64) {
	if ti := p.q.Tenant(j.Tenant); ti >= 0 && m >= 0 && gpus > 0 {
		p.promised[ti*len(p.c.Models)+m] += gpus
	}
}

// promiseModel is the GPU model a job waiting for the allocations ws is
// promised: of the models it accepts, the one its victims hold the most
// GPUs of, ties going to the first by name; -1 when they hold none it
// accepts. plan.Verify chooses alike.
func (p *pass) promiseModel(j *model.Job, ws []*model.Allocation) int {
	best, most := -1, int64(0)
	for _, a := range ws {
		for _, r := range a.Replicas {
			n, ok := p.c.NodeIndex[r.Node]
			if !ok || len(r.GPUs) == 0 {
				continue
			}
			m := p.c.Nodes[n].Model
			if m < 0 || m == best || !j.AcceptsModel(p.c.Models[m].Name) {
				continue
			}
			g := int64(0)
			for _, b := range ws {
				g += p.gpusOn(b, m)
			}
			if g > most || g == most && p.c.Models[m].Name < p.c.Models[best].Name {
				best, most = m, g
			}
		}
	}
	return best
}

// gpusOn is the GPUs of model m allocation a holds.
func (p *pass) gpusOn(a *model.Allocation, m int) int64 {
	g := int64(0)
	for _, r := range a.Replicas {
		if n, ok := p.c.NodeIndex[r.Node]; ok && p.c.Nodes[n].Model == m {
			g += int64(len(r.GPUs))
		}
	}
	return g
}

// waitingNeed is the GPUs job j needs to start, its allocation a (nil
// when not running): the whole gang, or a deployment's missing minimum.
func waitingNeed(j *model.Job, a *model.Allocation) int64 {
	if j.Kind != model.KindDeployment {
		return int64(j.GPUsPerReplica) * int64(j.Replicas)
	}
	running := 0
	if a != nil {
		running = len(a.Replicas)
	}
	return int64(j.GPUsPerReplica) * int64(max(1, min(j.MinReplicas, j.Replicas)-running))
}
