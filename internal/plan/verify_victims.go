package plan

import (
	"fmt"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
)

// The victim rule judges borrowing as the core does (internal/sched,
// inflight.go): on what a tenant will hold once the evictions under way
// have ended and the jobs they are for have started, not on its usage
// alone. Verify sees the plan as a whole, not the order the core chose
// its victims in, so it bounds what the core can have seen: each check
// below holds for every order the core may have taken.

// flight is a plan's quota in flight, by tenant (an index in the quota
// tree) × model, built on first use.
type flight struct {
	n    int     // models
	term []int64 // GPUs of terminating allocations
	// promised to jobs waiting for their victims: the least and the most
	// the core counts (a deployment's replicas may be split over
	// allocations)
	waitLo, waitHi []int64
	gone           []int64 // GPUs of the plan's victims
	promHi         []int64 // the most promised to the plan's beneficiaries
	// certain: the needs of the plan's beneficiaries that only reclaim
	// can explain (a victim of another tenant not of a lower priority),
	// on the one model their victims hold; certainOf says which model
	// each such beneficiary is counted on
	certain   []int64
	certainOf map[string]int
	// by victim tenant × model, of the victims that hold GPUs of that
	// model only, taken from another tenant of the same cohort tree:
	// the GPUs of those whose beneficiary may reclaim on it (recl, the
	// largest of them maxRecl) and of the others (prio)
	recl, prio, maxRecl []int64
	hasRecl, hasPrio    []bool
}

// gpusByModel is what placements hold, by the quota tree's model
// index; placedOn, when not nil, gets the models of every node they are
// on, GPUs or not.
func (v *verifier) gpusByModel(pls []model.Placement, placedOn map[int]bool) map[int]int64 {
	t := v.x.tab()
	out := map[int]int64{}
	for _, pl := range pls {
		n, ok := t.node[pl.Node]
		if !ok || t.qmodel[n] < 0 {
			continue
		}
		m := int(t.qmodel[n])
		if placedOn != nil {
			placedOn[m] = true
		}
		if len(pl.GPUs) > 0 {
			out[m] += int64(len(pl.GPUs))
		}
	}
	return out
}

// roomFor groups allocations under the pending job they make room for,
// jobs in the order first met (the same sums in the same order every run).
type roomFor struct {
	ids []string
	of  map[string][]*model.Allocation
}

// add files a under id when id is a pending job of the snapshot.
func (r *roomFor) add(v *verifier, id string, a *model.Allocation) {
	if _, ok := v.x.pending[id]; !ok {
		return
	}
	if r.of == nil {
		r.of = map[string][]*model.Allocation{}
	}
	if r.of[id] == nil {
		r.ids = append(r.ids, id)
	}
	r.of[id] = append(r.of[id], a)
}

// flight builds the plan's quota in flight.
func (v *verifier) flight() *flight {
	if v.fl != nil {
		return v.fl
	}
	q := v.quotas()
	f := &flight{n: len(q.models), certainOf: map[string]int{}}
	size := q.tree.Len() * f.n
	for _, s := range []*[]int64{&f.term, &f.waitLo, &f.waitHi, &f.gone, &f.promHi, &f.certain, &f.recl, &f.prio, &f.maxRecl} {
		*s = make([]int64, size)
	}
	f.hasRecl, f.hasPrio = make([]bool, size), make([]bool, size)
	v.fl = f
	add := func(s []int64, tenant string, m int, g int64) {
		if ti := q.tree.Tenant(tenant); ti >= 0 && m >= 0 {
			s[ti*f.n+m] += g
		}
	}
	// Terminating allocations, and the jobs they make room for.
	var waiting roomFor
	for i := range v.snap.Running {
		a := &v.snap.Running[i]
		if a.Job == nil || !a.Terminating {
			continue
		}
		for m, g := range v.gpusByModel(a.Replicas, nil) {
			add(f.term, a.Job.Tenant, m, g)
		}
		waiting.add(v, a.PreemptedFor, a)
	}
	for _, id := range waiting.ids {
		j := v.x.pending[id]
		if m := v.promiseModel(j, waiting.of[id]); m >= 0 {
			add(f.waitLo, j.Tenant, m, int64(v.need(j)))
			add(f.waitHi, j.Tenant, m, int64(mostNeed(j)))
		}
	}
	// The plan's victims and beneficiaries.
	var byBen roomFor
	for i := range v.p.Preemptions {
		pr := &v.p.Preemptions[i]
		for _, a := range v.taken(pr) {
			for m, g := range v.gpusByModel(a.Replicas, nil) {
				add(f.gone, a.Job.Tenant, m, g)
			}
			byBen.add(v, pr.Beneficiary, a)
		}
	}
	for _, id := range byBen.ids {
		b := v.x.pending[id]
		on, reclaimOnly := map[int]bool{}, false
		for _, a := range byBen.of[id] {
			v.gpusByModel(a.Replicas, on)
			reclaimOnly = reclaimOnly || a.Job.Tenant != b.Tenant && (!v.x.fac.Policy.Preemption || v.priority(a.Job) >= v.priority(b))
		}
		for m := range on {
			if b.AcceptsModel(q.models[m]) {
				add(f.promHi, b.Tenant, m, int64(mostNeed(b)))
			}
		}
		if reclaimOnly && len(on) == 1 {
			for m := range on {
				if b.AcceptsModel(q.models[m]) {
					add(f.certain, b.Tenant, m, int64(v.need(b)))
					f.certainOf[id] = m
				}
			}
		}
	}
	// The victims of each tenant and model, by what their beneficiary may do.
	for i := range v.p.Preemptions {
		pr := &v.p.Preemptions[i]
		as := v.taken(pr)
		b, ok := v.x.pending[pr.Beneficiary]
		if len(as) == 0 || !ok {
			continue
		}
		m, g := v.singleModel(as)
		vi, bi := q.tree.Tenant(as[0].Job.Tenant), q.tree.Tenant(b.Tenant)
		if m < 0 || vi < 0 || bi < 0 || vi == bi || q.tree.Root(vi) != q.tree.Root(bi) {
			continue
		}
		k := vi*f.n + m
		if v.mayReclaim(b, bi, m) {
			f.recl[k] += g
			f.maxRecl[k] = max(f.maxRecl[k], g)
			f.hasRecl[k] = true
		} else {
			f.prio[k] += g
			f.hasPrio[k] = true
		}
	}
	return f
}

// singleModel is the model of the nodes allocations as are on when they
// are all of one model and hold GPUs there, and those GPUs; -1 otherwise.
func (v *verifier) singleModel(as []*model.Allocation) (int, int64) {
	on := map[int]bool{}
	var g int64
	for _, a := range as {
		for _, n := range v.gpusByModel(a.Replicas, on) {
			g += n
		}
	}
	if len(on) != 1 || g == 0 {
		return -1, 0
	}
	for m := range on {
		return m, g
	}
	return -1, 0
}

// promiseModel is the model a job waiting for the allocations ws is
// promised, as the core chooses it: of the models it accepts, the one
// they hold the most GPUs of, ties going to the first by name; -1 when
// none.
func (v *verifier) promiseModel(j *model.Job, ws []*model.Allocation) int {
	q := v.quotas()
	by := map[int]int64{}
	for _, a := range ws {
		for m, g := range v.gpusByModel(a.Replicas, nil) {
			by[m] += g
		}
	}
	best := -1
	for _, m := range sortedModels(by) { // index order is name order
		if j.AcceptsModel(q.models[m]) && (best < 0 || by[m] > by[best]) {
			best = m
		}
	}
	return best
}

// mostNeed is the most GPUs job j can need to start: the whole gang, or a
// deployment's minimum (at least one replica).
func mostNeed(j *model.Job) int {
	if j.Kind == model.KindDeployment {
		return j.GPUsPerReplica * max(1, min(j.MinReplicas, j.Replicas))
	}
	return j.TotalGPUs()
}

// mayReclaim reports whether the core can have found beneficiary b (of
// tenant bi) within its nominal quota of model m: with the fewest GPUs
// it can have counted for the tenant — its usage less every GPU leaving
// it, plus the GPUs promised to its jobs that waited for victims before
// the plan and to its beneficiaries that only reclaim explains (the last
// of them the core judged saw the others' promises).
func (v *verifier) mayReclaim(b *model.Job, bi, m int) bool {
	pol := v.x.fac.Policy
	q := v.quotas()
	if !pol.Reclaim || !pol.Quotas || b.GPUsPerReplica <= 0 || !b.AcceptsModel(q.models[m]) {
		return false // a job without GPUs takes back no quota
	}
	f := v.fl
	k := bi*f.n + m
	least := q.tree.Usage(bi, m) - f.term[k] - f.gone[k] + f.waitLo[k] + f.certain[k]
	if cm, ok := f.certainOf[b.ID]; !ok || cm != m {
		least += int64(v.need(b))
	}
	return least <= q.tree.Nominal(bi, m)
}

// most is the most tenant ti (in the quota tree) can hold of model m once
// the plan has run and every eviction under way has ended and its
// beneficiary started, before the plan's victims leave.
func (v *verifier) most(ti, m int) int64 {
	f := v.flight()
	k := ti*f.n + m
	return v.afterStarts().Usage(ti, m) - f.term[k] + f.waitHi[k] + f.promHi[k]
}

// victim checks why running job vj (allocations as) may be preempted for
// pending job b; see Verify for the rules.
func (v *verifier) victim(vj *model.Job, as []*model.Allocation, b *model.Job) {
	pol := v.x.fac.Policy
	q := v.quotas()
	vi, bi := q.tree.Tenant(vj.Tenant), q.tree.Tenant(b.Tenant)
	var held []model.Placement
	for _, a := range as {
		held = append(held, a.Replicas...)
	}
	models := sortedModels(q.byModel(v.x, held))
	vp, bp := v.priority(vj), v.priority(b)
	same := vj.Tenant == b.Tenant
	shared := vi >= 0 && bi >= 0 && q.tree.Root(vi) == q.tree.Root(bi)
	lower := pol.Preemption && vp < bp
	// Nominal quota guards a tenant against other tenants only while
	// quotas are enforced, and only for the GPUs it counts.
	if same || !pol.Quotas || len(models) == 0 {
		if lower {
			return
		}
		v.refuse(vj, b, vp, bp, same, shared, "")
		return
	}
	if !shared {
		v.refuse(vj, b, vp, bp, same, shared, "")
		return
	}
	f := v.flight()
	single, _ := v.singleModel(as)
	why := "" // the first quota reason met
	note := func(format string, a ...any) {
		if why == "" {
			why = fmt.Sprintf(format, a...)
		}
	}
	for _, m := range models {
		k := vi*f.n + m
		most, nominal := v.most(vi, m), q.tree.Nominal(vi, m)
		switch {
		case !lower && !v.mayReclaim(b, bi, m):
		case most <= nominal:
			note("tenant %s does not borrow %s: it holds at most %d of its nominal %d once the evictions under way have ended and their beneficiaries started",
				vj.Tenant, q.models[m], most, nominal)
		case m == single && f.hasPrio[k] && most-f.prio[k] < nominal:
			note("the plan takes tenant %s to %d %s, below its nominal %d, by priority (a borrower loses only what it borrows)",
				vj.Tenant, most-f.prio[k], q.models[m], nominal)
		case m == single && f.hasRecl[k] && most-f.prio[k]-f.recl[k]+f.maxRecl[k] <= nominal:
			note("the plan takes tenant %s to %d %s, below its nominal %d by more than its last victim (the most reclaim may take)",
				vj.Tenant, most-f.prio[k]-f.recl[k], q.models[m], nominal)
		default:
			return
		}
	}
	v.refuse(vj, b, vp, bp, same, shared, why)
}

// refuse adds the victim violation of vj, preempted for b; quota, when
// not empty, says how the victim's tenant's quota refuses it.
func (v *verifier) refuse(vj, b *model.Job, vp, bp int, same, shared bool, quota string) {
	pol := v.x.fac.Policy
	if quota != "" {
		v.add(CodeVictim, vj.ID, "", -1, "preempted for %s, but %s", b.ID, quota)
		return
	}
	var why []string
	switch {
	case !pol.Preemption:
		why = append(why, "priority preemption is off")
	case vp >= bp:
		why = append(why, fmt.Sprintf("priority %d is not below beneficiary %s's %d", vp, b.ID, bp))
	case !shared:
		why = append(why, fmt.Sprintf("tenants %s and %s share no cohort tree", vj.Tenant, b.Tenant))
	default:
		why = append(why, fmt.Sprintf("tenant %s is within its nominal quota, so another tenant may not preempt it by priority", vj.Tenant))
	}
	switch {
	case !pol.Reclaim || !pol.Quotas:
		why = append(why, "reclaim (or quotas) is off")
	case same:
		why = append(why, "reclaim is between tenants")
	default:
		why = append(why, fmt.Sprintf("no reclaim: tenant %s does not borrow a model it holds that tenant %s would get within nominal in the same cohort tree",
			vj.Tenant, b.Tenant))
	}
	v.add(CodeVictim, vj.ID, "", -1, "preempted for %s, but %s", b.ID, strings.Join(why, "; "))
}
