package sched

import (
	"github.com/carnot-dc/carnot/internal/model"
)

// Quota in flight. Who borrows, and so who may lose work by reclaim or
// by priority across tenants, is judged on what each tenant will hold
// once the evictions under way have ended and the jobs they make room
// for have started: its usage, less the GPUs leaving it (allocations
// already terminating, and the victims this pass has chosen), plus the
// GPUs promised to its beneficiaries (jobs waiting for their victims,
// and those this pass has preempted for). Judged on usage alone, the
// victims already chosen still counted as their tenant's: three jobs of
// a tenant with nominal quota 16 each reclaimed 8 GPUs from a borrower
// that held 32 of its own 16, which fell to 8, below its nominal quota,
// while the first tenant ended up borrowing 8; the borrower then took
// them back by reclaim, and the pair evicted each other for hours.
// plan.Verify judges the same way (verify_victims.go).

// projected is what tenant ti (an index in p.q) will hold of model m
// once the evictions under way have ended and the jobs they are for
// have started.
func (p *pass) projected(ti, m int) int64 {
	if !p.flightRead {
		p.readFlight()
	}
	if p.flight == nil { // nothing in flight
		return p.q.Usage(ti, m)
	}
	return p.q.Usage(ti, m) + p.flight[ti*len(p.c.Models)+m]
}

// readFlight counts, once per pass, in p.flight by tenant and model, the
// GPUs of the terminating allocations as leaving (-) and the GPUs
// promised (+) to the queued jobs they make room for (see
// promiseModel). Sums of integers: the order they are met in does not
// matter. With nothing in flight p.flight stays nil.
func (p *pass) readFlight() {
	p.flightRead = true
	for _, a := range p.tally.terminating {
		p.leave(a)
	}
	if p.src == nil {
		return
	}
	for id, ws := range p.waitingFor {
		if j, ok := p.src.Get(id); ok {
			if m := p.promiseModel(j, ws); m >= 0 {
				p.promise(j, m, waitingNeed(j, p.running(j.ID)))
			}
		}
	}
}

// flightAt is the cell of tenant ti and model m in p.flight, which it
// makes when there is none yet.
func (p *pass) flightAt(ti, m int) *int64 {
	if !p.flightRead {
		p.readFlight()
	}
	if p.flight == nil {
		n := p.q.Len() * len(p.c.Models)
		if cap(p.flightBuf) < n {
			p.flightBuf = make([]int64, n)
		}
		p.flight = p.flightBuf[:n]
		clear(p.flight)
	}
	return &p.flight[ti*len(p.c.Models)+m]
}

// leave counts allocation a's GPUs as leaving its tenant.
func (p *pass) leave(a *model.Allocation) {
	ti := p.q.Tenant(a.Job.Tenant)
	if ti < 0 {
		return
	}
	for _, r := range a.Replicas {
		if n, ok := p.c.NodeIndex[r.Node]; ok && p.c.Nodes[n].Model >= 0 && len(r.GPUs) > 0 {
			*p.flightAt(ti, p.c.Nodes[n].Model) -= int64(len(r.GPUs))
		}
	}
}

// promise counts gpus of model m as promised to job j's tenant.
func (p *pass) promise(j *model.Job, m int, gpus int64) {
	if ti := p.q.Tenant(j.Tenant); ti >= 0 && m >= 0 && gpus > 0 {
		*p.flightAt(ti, m) += gpus
	}
}

// promiseModel is the GPU model a job waiting for the allocations ws is
// promised: of the models it accepts, the one its victims hold the most
// GPUs of, ties going to the first by name; -1 when they hold none it
// accepts. plan.Verify chooses alike.
func (p *pass) promiseModel(j *model.Job, ws []*model.Allocation) int {
	by := p.flightGPUs[:0] // GPUs by model, in the order met
	for _, a := range ws {
		for _, r := range a.Replicas {
			n, ok := p.c.NodeIndex[r.Node]
			if !ok || len(r.GPUs) == 0 || p.c.Nodes[n].Model < 0 {
				continue
			}
			m, k := p.c.Nodes[n].Model, 0
			for k < len(by) && by[k].m != m {
				k++
			}
			if k == len(by) {
				by = append(by, modelGPUs{m: m})
			}
			by[k].gpus += int64(len(r.GPUs))
		}
	}
	p.flightGPUs = by
	best := -1
	for k, b := range by {
		if !j.AcceptsModel(p.c.Models[b.m].Name) {
			continue
		}
		if best < 0 || b.gpus > by[best].gpus || b.gpus == by[best].gpus && p.c.Models[b.m].Name < p.c.Models[by[best].m].Name {
			best = k
		}
	}
	if best < 0 {
		return -1
	}
	return by[best].m
}

// modelGPUs is GPUs of model m.
type modelGPUs struct {
	m    int
	gpus int64
}

// waitingNeed is the GPUs job j needs to start, its allocation a (nil
// when not running): startNeed with the replicas a runs.
func waitingNeed(j *model.Job, a *model.Allocation) int64 {
	running := 0
	if a != nil {
		running = len(a.Replicas)
	}
	return startNeed(j, running)
}
