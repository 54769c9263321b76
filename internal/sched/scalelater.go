package sched

import (
	"math"

	"github.com/carnot-dc/carnot/internal/model"
)

// A deployment whose minimum fits its tenant's nominal quota is served
// in the first round of its level (Kueue's rule: work within nominal
// quota goes first), but its replicas beyond that quota would borrow:
// started there, they took quota ahead of other tenants' jobs that fit
// within their own nominal quota, which then took it back by reclaim,
// evicting the whole deployment. So the first round starts only the
// replicas the tenant's nominal quota holds (at least the minimum), and
// the deployment scales on in the second round, with the borrowers, on
// the same start.

// laterScale is a deployment started in the first round short of its
// replica count: its start's index in the plan and its GPU model.
type laterScale struct{ start, model int }

// nominalRoom is what tenant ti may still use of model m within its
// nominal quota (0 when it borrows already).
func (p *pass) nominalRoom(ti, m int) int64 {
	return max(0, p.q.Nominal(ti, m)-p.q.Usage(ti, m))
}

// laterScale notes that deployment j, just started on model m, scales on
// in the second round.
func (p *pass) laterScale(j *model.Job, m int) {
	if p.scaleLater == nil {
		p.scaleLater = map[string]laterScale{}
	}
	p.scaleLater[j.ID] = laterScale{start: len(p.plan.Starts) - 1, model: m}
}

// scaleOn places more replicas of deployment j, which the first round
// started within its tenant's nominal quota, now that it may borrow: up
// to its replica count, on the model it started on, one at a time as
// placeDeployment does, under the highest cap that fits them; they join
// its start. When none fits it stays as started, without a reason: the
// plan starts it.
func (p *pass) scaleOn(j *model.Job, later laterScale) {
	delete(p.scaleLater, j.ID)
	t := p.tenants[j.Tenant]
	ss := p.sitesFor(t, j)
	p.curSites = ss.id
	st := &p.plan.Starts[later.start]
	a := attempt{model: later.model, req: p.request(t, j, later.model, ss.mask)}
	want := j.Replicas - p.deployed[j.ID] - len(st.Replicas)
	if ti := p.q.Tenant(j.Tenant); ti >= 0 && j.GPUsPerReplica > 0 {
		want = min(want, int(p.available(ti, a.model)/int64(j.GPUsPerReplica)))
	}
	if want <= 0 {
		return
	}
	if _, ok := p.shareCheck(&a.req); !ok {
		return
	}
	if _, ok := p.strictCheck(j, &a.req); !ok {
		return
	}
	slots, _ := p.deploySlots(j, &a, want, 0, ss.tags)
	for ; len(slots) > 0; slots = slots[:len(slots)-1] {
		if capW, _, ok := p.powerFor(j, a.model, slots, a.req.Constrained); ok {
			reps, w := p.take(j, &a, slots, capW)
			st.Replicas = append(st.Replicas, reps...)
			st.PowerW = math.Round(st.PowerW + w)
			p.account(j, reps, 1)
			p.started(j, reps)
			return
		}
	}
}
