package sched

import (
	"fmt"
	"slices"

	"github.com/carnot-dc/carnot/internal/model"
)

// resQuota is the quota the reserved job will take at its start: gpus
// of model (0 when quotas are off) on tenant ti's path in the quota
// tree; freed is, per tenant of its tree, what running work gives back
// of that model by then (worked out on first use: freedOK).
type resQuota struct {
	ti, model int
	tenant    string
	gpus      int64
	freed     []tenantGPUs
	freedOK   bool
}

// availableFor is what tenant ti may start of model m (available) and,
// for a job that would still run at the reservation's start
// (constrained), still hold then, when the reserved job has its quota:
// a job of the reserved job's tenant, or a borrower of its cohort, that
// started on quota the reserved job then needed made it wait far beyond
// its reserved start (testdata/sched/backfill_quota.txt). need is what
// the caller asks for: when ti could start need even with the reserved
// job's quota taken now, it can then too (adding x to any tenant's usage
// lowers another's available by at most x, and work ending only raises
// it), and the costlier answer for the start is not needed.
func (p *pass) availableFor(ti, m int, constrained bool, need int64) int64 {
	return p.availableForGiven(ti, m, constrained, p.available(ti, m), need)
}

// availableForGiven is availableFor given a, what ti has available now.
func (p *pass) availableForGiven(ti, m int, constrained bool, a, need int64) int64 {
	if !constrained || p.res == nil {
		return a
	}
	if h := &p.res.quota; h.gpus == 0 || h.model != m || a-h.gpus >= need || p.q.Root(ti) != p.q.Root(h.ti) {
		return a
	}
	return min(a, p.availableThen(ti, m))
}

// availableThen is available at the reservation's start: the usage of
// today, less what running work of the reserved tenant's tree gives back
// of model m by then, plus the reserved job's need. Work this pass starts
// after the first call counts as still running then, and held quota (see
// available) as still held: both only err towards less.
func (p *pass) availableThen(ti, m int) int64 {
	h := &p.res.quota
	if !h.freedOK {
		h.freed, h.freedOK = p.freedBy(p.res.start, h.ti, m), true
	}
	for _, f := range h.freed {
		p.q.Add(f.ti, m, -f.gpus)
	}
	p.q.Add(h.ti, m, h.gpus)
	a := p.available(ti, m)
	p.q.Add(h.ti, m, -h.gpus)
	for _, f := range h.freed {
		p.q.Add(f.ti, m, f.gpus)
	}
	return a
}

// freedBy sums, per tenant of tenant ti's quota tree, the GPUs of model
// m that running work (and the pass's starts so far) gives back by at:
// at its runtime limit, or its eviction.
func (p *pass) freedBy(at model.Time, ti, m int) []tenantGPUs {
	if !p.relBuilt {
		p.buildReleases()
	}
	p.sortReleases()
	root := p.q.Root(ti)
	var out []tenantGPUs
	for i := range p.releases {
		r := &p.releases[i]
		if r.at > at {
			break
		}
		if r.idx < 0 && r.h == nil && slices.ContainsFunc(p.held, func(h heldForJob) bool { return h.job == r.job.ID }) {
			continue // the room held for a job waiting for its victims: its quota is held, not used
		}
		t := p.q.Tenant(r.job.Tenant)
		if t < 0 || p.q.Root(t) != root {
			continue
		}
		gpus := 0
		for k, pl := range r.reps {
			if n, ok := p.releaseNode(r, k); ok && p.c.Nodes[n].Model == m {
				gpus += len(pl.GPUs)
			}
		}
		if gpus == 0 {
			continue
		}
		if x := slices.IndexFunc(out, func(f tenantGPUs) bool { return f.ti == t }); x >= 0 {
			out[x].gpus += int64(gpus)
		} else {
			out = append(out, tenantGPUs{ti: t, gpus: int64(gpus)})
		}
	}
	return out
}

// resQuotaVerdict says that j, which would still run at the reserved
// start, waits for the quota the reserved job needs then. It is no wait
// for capacity: an estimate, which does not weigh quota, would name a
// time when the quota is still the reserved job's.
func (p *pass) resQuotaVerdict(j *model.Job) verdict {
	h := &p.res.quota
	why := "this job's runtime limit ends after that"
	if j.RuntimeLimit <= 0 {
		why = "this job has no runtime limit"
	}
	return verdict{code: model.ReasonBackfill, msg: fmt.Sprintf(
		"backfill: reserved for job %s (starts ~%s), which needs %d %s of tenant %s's quota then; %s",
		p.res.job, p.res.start.Clock(), h.gpus, p.modelName(h.model), h.tenant, why)}
}
