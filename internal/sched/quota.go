package sched

import (
	"fmt"

	"github.com/carnot-dc/carnot/internal/model"
)

// quotaCheck: the tenant's quota tree must have room for the whole job
// on model m (hierarchical quotas with borrowing and lending).
func (p *pass) quotaCheck(t *model.Tenant, j *model.Job, m int) (verdict, bool) {
	if !p.pol.Quotas || j.GPUsPerReplica == 0 {
		return verdict{}, true
	}
	ti := p.q.Tenant(t.Name)
	need := int64(j.GPUsPerReplica) * int64(j.Replicas)
	if j.Kind == model.KindDeployment {
		need = int64(j.GPUsPerReplica) * int64(max(1, min(j.MinReplicas, j.Replicas)))
	}
	if ti < 0 || p.q.Available(ti, m) >= need {
		return verdict{}, true
	}
	return verdict{code: model.ReasonQuota, msg: p.quotaMessage(ti, t.Name, m, need)}, false
}

// quotaMessage reads like
// "quota: tenant acme uses 64/64 H200 (nominal), needs 16, cohort lends 0".
func (p *pass) quotaMessage(ti int, tenant string, m int, need int64) string {
	name := p.modelName(m)
	msg := fmt.Sprintf("quota: tenant %s uses %d/%d %s (nominal), needs %d",
		tenant, p.q.Usage(ti, m), p.q.Nominal(ti, m), name, need)
	if c := p.q.Parent(ti); c != "" {
		msg += fmt.Sprintf(", cohort %s lends %d", c, max(0, p.q.FromCohort(ti, m)))
	}
	return msg
}
