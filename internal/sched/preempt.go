package sched

import (
	"fmt"
	"sort"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
)

// maxPreemptSearches bounds the what-if searches of one pass, and
// maxVictimCandidates the candidates one search considers, so that a
// pass over a long queue stays fast.
const (
	maxPreemptSearches  = 64
	maxVictimCandidates = 256
)

type victim struct {
	a    *model.Allocation
	lost float64 // GPU-seconds since the last checkpoint
	prio int
}

// preempt looks for the cheapest set of running jobs whose eviction lets
// j start: lower-priority preemptible jobs (priority preemption) and,
// when j's tenant stays within its nominal quota, preemptible jobs of
// tenants borrowing beyond theirs in the same cohort tree (reclaim).
// Victims are whole jobs; non-preemptible work is never chosen. The set
// is grown cheapest-first until j fits, then pruned of victims it does
// not need. On success the victims get a notice now and are evicted after
// their checkpoint grace; j waits for them.
func (p *pass) preempt(t *model.Tenant, j *model.Job, atts []attempt) (bool, string) {
	if !p.pol.Preemption || len(atts) == 0 || p.preemptTries >= maxPreemptSearches {
		return false, ""
	}
	for i := range atts {
		a := &atts[i]
		if (!a.v.capacity && a.v.code != model.ReasonQuota) || a.v.code == model.ReasonBackfill {
			continue
		}
		cands := p.victimCandidates(t, j, a.model, a.req.Sites)
		if len(cands) == 0 {
			continue
		}
		p.preemptTries++
		chosen := p.victimSet(j, a, cands)
		if chosen == nil {
			continue
		}
		if lim := p.pol.PreemptionRateLimit; lim > 0 && p.recentPreem+len(chosen) > lim {
			return false, fmt.Sprintf("; preemption would evict %d job(s) but the rate limit allows %d more in %s",
				len(chosen), max(0, lim-p.recentPreem), p.pol.PreemptionWindow)
		}
		p.evict(j, chosen)
		return true, ""
	}
	return false, ""
}

func (p *pass) victimCandidates(t *model.Tenant, j *model.Job, m int, sites []bool) []victim {
	prio := p.priority(j)
	ti := p.q.Tenant(t.Name)
	need := int64(j.TotalGPUs())
	underNominal := ti >= 0 && p.q.Usage(ti, m)+need <= p.q.Nominal(ti, m)
	var out []victim
	for i := range p.snap.Running {
		a := &p.snap.Running[i]
		v := a.Job
		if v == nil || a.Terminating || !v.Preemptible || p.victims[v.ID] || !p.usesModel(a, m, sites) {
			continue
		}
		vp := p.priority(v)
		ok := vp < prio
		if !ok && p.pol.Reclaim && underNominal && v.Tenant != t.Name {
			vi := p.q.Tenant(v.Tenant)
			ok = vi >= 0 && p.q.Root(vi) == p.q.Root(ti) && p.q.Usage(vi, m) > p.q.Nominal(vi, m)
		}
		if !ok {
			continue
		}
		since := a.LastCheckpoint
		if since < a.Started {
			since = a.Started
		}
		gpus := 0
		for _, r := range a.Replicas {
			gpus += len(r.GPUs)
		}
		out = append(out, victim{a: a, lost: float64(gpus) * float64(max(0, p.now-since)), prio: vp})
	}
	sort.Slice(out, func(x, y int) bool {
		a, b := out[x], out[y]
		if a.lost != b.lost {
			return a.lost < b.lost
		}
		if a.prio != b.prio {
			return a.prio < b.prio
		}
		return a.a.Job.ID < b.a.Job.ID
	})
	if len(out) > maxVictimCandidates {
		out = out[:maxVictimCandidates]
	}
	return out
}

// usesModel: the allocation holds GPUs of model m on an allowed site.
func (p *pass) usesModel(a *model.Allocation, m int, sites []bool) bool {
	for _, r := range a.Replicas {
		if n, ok := p.c.NodeIndex[r.Node]; ok {
			nd := &p.c.Nodes[n]
			if nd.Model == m && (sites == nil || (nd.Site >= 0 && sites[nd.Site])) {
				return true
			}
		}
	}
	return false
}

// fitsWithout reports whether j fits on attempt a's model once the given
// victims are gone.
func (p *pass) fitsWithout(j *model.Job, a *attempt, vs []victim) bool {
	p.c.Begin()
	defer p.c.Rollback()
	for _, v := range vs {
		p.quotaRelease(v.a, -1)
	}
	defer func() {
		for _, v := range vs {
			p.quotaRelease(v.a, 1)
		}
	}()
	for _, v := range vs {
		for _, r := range v.a.Replicas {
			if n, ok := p.c.NodeIndex[r.Node]; ok {
				p.c.Release(n, r.GPUs, v.a.Job, r.PowerCapW)
			}
		}
	}
	ti := p.q.Tenant(j.Tenant)
	need := int64(j.TotalGPUs())
	if p.pol.Quotas && ti >= 0 && need > 0 && p.q.Available(ti, a.model) < need {
		return false
	}
	req := a.req
	req.Constrained = false
	res := p.c.Find(&req)
	return res.OK()
}

// quotaRelease adds (sign 1) or removes (sign -1) an allocation's GPUs
// from its tenant's quota usage.
func (p *pass) quotaRelease(a *model.Allocation, sign int64) {
	ti := p.q.Tenant(a.Job.Tenant)
	if ti < 0 {
		return
	}
	for _, r := range a.Replicas {
		if n, ok := p.c.NodeIndex[r.Node]; ok {
			if m := p.c.Nodes[n].Model; m >= 0 {
				p.q.Add(ti, m, sign*int64(len(r.GPUs)))
			}
		}
	}
}

// victimSet grows the set cheapest-first until j fits, then drops every
// victim (most expensive first) that is not needed.
func (p *pass) victimSet(j *model.Job, a *attempt, cands []victim) []victim {
	n := sort.Search(len(cands), func(k int) bool { return p.fitsWithout(j, a, cands[:k+1]) })
	if n == len(cands) {
		return nil
	}
	set := append([]victim(nil), cands[:n+1]...)
	for i := len(set) - 1; i >= 0 && len(set) > 1; i-- {
		trial := append(append([]victim(nil), set[:i]...), set[i+1:]...)
		if p.fitsWithout(j, a, trial) {
			set = trial
		}
	}
	return set
}

func (p *pass) evict(j *model.Job, vs []victim) {
	var ids []string
	last := p.now
	for _, v := range vs {
		vj := v.a.Job
		evictAt := p.now.Add(vj.CheckpointGrace)
		last = max(last, evictAt)
		reason := fmt.Sprintf("priority %d preempts %d", p.priority(j), v.prio)
		if v.prio >= p.priority(j) {
			reason = fmt.Sprintf("reclaim: tenant %s takes back its nominal quota from borrower %s", j.Tenant, vj.Tenant)
		}
		p.plan.Preemptions = append(p.plan.Preemptions, model.Preemption{
			Victim: vj.ID, Beneficiary: j.ID, Reason: reason,
			NoticeAt: p.now, EvictAt: evictAt, LostGPUSeconds: v.lost,
		})
		p.victims[vj.ID] = true
		ids = append(ids, vj.ID)
	}
	p.recentPreem += len(vs)
	p.pending(j, verdict{code: model.ReasonPreempting, msg: fmt.Sprintf(
		"preempting: evicting %s; starts after eviction at %s", strings.Join(ids, ", "), last)}, last)
}
