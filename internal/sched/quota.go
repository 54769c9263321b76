package sched

import (
	"fmt"

	"github.com/carnot-dc/carnot/internal/model"
)

// quotaCheck: the tenant's quota tree must have room for the whole job
// on model m (hierarchical quotas with borrowing and lending), and, for
// a job that would still run at the reservation's start (constrained),
// room besides what the reserved job will take then (availableFor).
func (p *pass) quotaCheck(t *model.Tenant, j *model.Job, m int, constrained bool) (verdict, bool) {
	if !p.pol.Quotas || j.GPUsPerReplica == 0 {
		return verdict{}, true
	}
	ti := p.tenantIndex(t.Name)
	need := p.need(j)
	if ti < 0 {
		return verdict{}, true
	}
	if p.mayNotBorrow(j) && p.borrows(ti, j, m) {
		return verdict{code: model.ReasonQuota, msg: fmt.Sprintf(
			"quota: tenant %s uses %d/%d %s (nominal), needs %d, would borrow %d; only preemptible jobs borrow (policy borrowing: preemptible)",
			t.Name, p.q.Usage(ti, m), p.q.Nominal(ti, m), p.modelName(m), need, p.q.Usage(ti, m)+need-p.q.Nominal(ti, m))}, false
	}
	if a := p.available(ti, m); a >= need {
		if p.availableForGiven(ti, m, constrained, a, need) < need {
			return p.resQuotaVerdict(j), false
		}
		return verdict{}, true
	}
	if note := p.heldQuotaNote(ti, m); note != "" {
		p.chargeHeld(1) // the words say what the decision saw
		defer p.chargeHeld(-1)
		return verdict{code: model.ReasonQuota, msg: p.quotaMessage(ti, t.Name, m, need) + note}, false
	}
	return verdict{code: model.ReasonQuota, msg: p.quotaMessage(ti, t.Name, m, need)}, false
}

// quotaMsgKey is what a quota message says: besides the facility's
// fixed quotas, the tenant's usage and what its cohort lends it.
type quotaMsgKey struct {
	tenant, model int
	need, usage   int64
	fromCohort    int64
	lent          int64 // what others borrow, for a job within nominal quota
}

// quotaMessage reads like
// "quota: tenant acme uses 64/64 H200 (nominal), needs 16, cohort lends 0".
// Messages are kept between the passes of a Queue (a job that waits on
// quota gets the same words while the usage stays the same).
func (p *pass) quotaMessage(ti int, tenant string, m int, need int64) string {
	k := quotaMsgKey{tenant: ti, model: m, need: need, usage: p.q.Usage(ti, m)}
	if p.q.Parent(ti) != "" {
		k.fromCohort = p.q.FromCohort(ti, m)
		if k.usage+need <= p.q.Nominal(ti, m) {
			k.lent = p.q.BorrowedBesides(ti, m)
		}
	}
	if msg, ok := p.quotaMsgs[k]; ok {
		return msg
	}
	if len(p.quotaMsgs) > 1<<14 {
		clear(p.quotaMsgs)
	}
	msg := p.formatQuota(ti, tenant, m, need, k.lent)
	p.quotaMsgs[k] = msg
	return msg
}

// formatQuota words a quota verdict. lent, for a job that fits its
// tenant's nominal quota, is what the other tenants of its tree borrow:
// the tenant waits for quota lent to them, which the words say, with
// why reclaim did not take it back.
func (p *pass) formatQuota(ti int, tenant string, m int, need, lent int64) string {
	name := p.modelName(m)
	msg := fmt.Sprintf("quota: tenant %s uses %d/%d %s (nominal), needs %d",
		tenant, p.q.Usage(ti, m), p.q.Nominal(ti, m), name, need)
	if _, lim := p.q.Borrowed(ti, m); lim >= 0 && p.q.Usage(ti, m)+need-p.q.Nominal(ti, m) > lim {
		return msg + fmt.Sprintf(", would borrow %d; borrowing limit %d", p.q.Usage(ti, m)+need-p.q.Nominal(ti, m), lim)
	}
	c := p.q.Parent(ti)
	if c == "" {
		return msg + ", no cohort to borrow from"
	}
	msg += fmt.Sprintf(", cohort %s lends %d", c, max(0, p.q.FromCohort(ti, m)))
	if lent > 0 {
		msg += fmt.Sprintf(": within its nominal quota, but other tenants of the cohort borrow %d %s beyond theirs", lent, name)
		if p.pol.Preemption && p.pol.Reclaim {
			msg += "; reclaim takes back only what preemptible jobs hold"
		} else {
			msg += "; reclaim is off: it comes back as that work ends"
		}
	}
	return msg
}

// mayNotBorrow reports whether job j may not take its tenant beyond its
// nominal quota: with Policy.BorrowPreemptibleOnly, only preemptible
// jobs borrow, so that what a tenant lends is held by work reclaim may
// take back.
func (p *pass) mayNotBorrow(j *model.Job) bool {
	return p.pol.Quotas && p.pol.BorrowPreemptibleOnly && !j.Preemptible && j.GPUsPerReplica > 0
}

// tenantIndex is the quota trees' index of a tenant (p.q and
// p.prep.quota number tenants alike). The walk meets runs of one
// tenant's jobs: the last lookup is remembered.
func (p *pass) tenantIndex(name string) int {
	if name != p.lastTenant || p.lastTenantIdx < -1 {
		p.lastTenant, p.lastTenantIdx = name, p.q.Tenant(name)
	}
	return p.lastTenantIdx
}

// wouldBorrow reports whether starting j on any model it accepts (that
// some node has) would take its tenant beyond its nominal quota. A job
// that fits within nominal quota on some model is served in the first
// round, which tries it only on such models (tryModels).
func (p *pass) wouldBorrow(j *model.Job) bool {
	if !p.pol.Quotas || j.GPUsPerReplica == 0 {
		return false
	}
	ti := p.tenantIndex(j.Tenant)
	if ti < 0 {
		return false
	}
	some := false
	for _, m := range p.modelsFor(j) {
		if p.hasPool(m) {
			if !p.borrows(ti, j, m) {
				return false
			}
			some = true
		}
	}
	return some
}

// borrows reports whether starting j on model m would take its tenant,
// ti, beyond its nominal quota of m.
func (p *pass) borrows(ti int, j *model.Job, m int) bool {
	return p.q.Usage(ti, m)+p.need(j) > p.q.Nominal(ti, m)
}

// nominalRoom is what tenant ti may still use of model m within its
// nominal quota (0 when it borrows already).
func (p *pass) nominalRoom(ti, m int) int64 {
	return max(0, p.q.Nominal(ti, m)-p.q.Usage(ti, m))
}

// need is the GPUs a job must get to start: the whole gang, or a
// deployment's missing minimum (at least one replica).
func (p *pass) need(j *model.Job) int64 { return startNeed(j, p.deployed[j.ID]) }

// startNeed is the GPUs job j needs to start: the whole gang, or, for a
// deployment that runs running replicas, its missing minimum (at least
// one replica).
func startNeed(j *model.Job, running int) int64 {
	if j.Kind == model.KindDeployment {
		return int64(j.GPUsPerReplica) * int64(replicasShort(j, running))
	}
	return int64(j.GPUsPerReplica) * int64(j.Replicas)
}

// replicasShort is how many more replicas a deployment that runs running
// needs at least: its minimum less those, and at least one.
func replicasShort(j *model.Job, running int) int {
	return max(1, min(j.MinReplicas, j.Replicas)-running)
}

// deployNeed is how many more replicas a deployment needs at least.
func (p *pass) deployNeed(j *model.Job) int { return replicasShort(j, p.deployed[j.ID]) }

// hopeless reports whether j can never start under the facility's
// quotas: for every GPU model it accepts that the facility has, it needs
// more than its tenant's quota tree could give it with nothing running at
// all (nominal quotas, cohorts and borrowing limits are the facility's).
// The verdict depends on the facility and the job alone, never on the
// cluster's state, so a Queue may park the job (Queue.park). Deployments
// are left out: what they need depends on the replicas running.
func (p *pass) hopeless(j *model.Job) (verdict, bool) {
	if !p.pol.Quotas || j.Kind == model.KindDeployment || j.GPUsPerReplica == 0 {
		return verdict{}, false
	}
	ti := p.tenantIndex(j.Tenant) // the trees share their indices
	if ti < 0 {
		return verdict{}, false
	}
	need := p.need(j)
	best, bestModel := int64(-1), -1
	for _, m := range p.modelsFor(j) {
		if !p.hasPool(m) {
			continue
		}
		avail := p.prep.quota.Available(ti, m)
		if p.mayNotBorrow(j) {
			avail = min(avail, p.prep.quota.Nominal(ti, m))
		}
		if avail >= need {
			return verdict{}, false
		}
		if avail > best {
			best, bestModel = avail, m
		}
	}
	if bestModel < 0 {
		return verdict{}, false
	}
	why := "nominal quota, cohort and borrowing limit"
	if p.mayNotBorrow(j) {
		why = "its nominal quota: only preemptible jobs borrow, policy borrowing: preemptible"
	}
	return verdict{code: model.ReasonQuota, msg: fmt.Sprintf(
		"quota: needs %d GPUs; tenant %s's quota gives it at most %d %s even with nothing running (%s), so it waits until the quotas change",
		need, j.Tenant, best, p.modelName(bestModel), why)}, true
}
