package plan

import (
	"sort"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/quota"
)

// quotas is the facility's quota tree (the one the core uses) with the
// usage of every running allocation, terminating ones included: they
// hold their GPUs until eviction. It reflects the snapshot, before any
// of the plan's starts or preemptions.
type quotas struct {
	tree   *quota.Tree
	after  *quota.Tree    // tree with the plan's starts added, for victims
	models []string       // index → GPU model name
	index  map[string]int // GPU model name → index
}

// newQuotas is the tree over every GPU model the facility names, in the
// catalog or on a node, sorted by name, with the running usage.
func (x *index) newQuotas(snap *model.Snapshot) *quotas {
	t := x.tab()
	sc := x.scratch()
	if k := x.keptState(); k != nil { // the Checker keeps the running usage
		sc.qtrees[0] = k.tree.CloneInto(sc.qtrees[0])
		return &quotas{models: t.qmodels, index: t.qindex, tree: sc.qtrees[0]}
	}
	nodes := x.runNodes()
	sc.qtrees[0] = t.qtree.CloneInto(sc.qtrees[0])
	q := &quotas{models: t.qmodels, index: t.qindex, tree: sc.qtrees[0]}
	for i := range snap.Running {
		a := &snap.Running[i]
		idx := nodes[:len(a.Replicas)]
		nodes = nodes[len(a.Replicas):]
		if a.Job == nil {
			continue
		}
		ti := q.tree.Tenant(a.Job.Tenant)
		if ti < 0 {
			continue
		}
		for k, pl := range a.Replicas {
			if n := idx[k]; n >= 0 && len(pl.GPUs) > 0 && t.qmodel[n] >= 0 {
				q.tree.Add(ti, int(t.qmodel[n]), int64(len(pl.GPUs)))
			}
		}
	}
	return q
}

// byModel sums the GPUs of placements on known nodes by model index.
func (q *quotas) byModel(x *index, pls []model.Placement) map[int]int64 {
	out := map[int]int64{}
	for _, pl := range pls {
		n, ok := x.nodes[pl.Node]
		if !ok || len(pl.GPUs) == 0 {
			continue
		}
		if m, ok := q.index[n.GPUModel]; ok {
			out[m] += int64(len(pl.GPUs))
		}
	}
	return out
}

// sortedModels returns the keys of a byModel map in index order.
func sortedModels(by map[int]int64) []int {
	ms := make([]int, 0, len(by))
	for m := range by {
		ms = append(ms, m)
	}
	sort.Ints(ms)
	return ms
}

// afterStarts is the snapshot's quota tree with the plan's starts
// added: a pass that started a tenant's borrowing jobs may reclaim from
// that tenant's older ones in the same pass (the core judges borrowing
// as it goes, as Kueue does), and the starts are the most the pass can
// have added.
func (v *verifier) afterStarts() *quota.Tree {
	q := v.quotas()
	if q.after == nil {
		sc := v.x.scratch()
		sc.qtrees[1] = q.tree.CloneInto(sc.qtrees[1])
		q.after = sc.qtrees[1]
		for _, s := range v.p.Starts {
			if j := v.x.job(s.Job); j != nil {
				if si := q.after.Tenant(j.Tenant); si >= 0 {
					for mm, n := range q.byModel(v.x, s.Replicas) {
						q.after.Add(si, mm, n)
					}
				}
			}
		}
	}
	return q.after
}

// quota checks, with Policy.Quotas, that each start fits what its
// tenant's quota tree makes available, starts taken in plan order on
// top of the running usage. Usage already beyond quota is no violation
// by itself; a start that adds to it is. With Policy.BorrowPreemptibleOnly
// a start of a job that is not preemptible must also keep its tenant
// within its nominal quota. Jobs of tenants the facility does not list
// are not limited (as in the core).
func (v *verifier) quota() {
	if !v.x.fac.Policy.Quotas || len(v.p.Starts) == 0 {
		return
	}
	q := v.quotas()
	sc := v.x.scratch()
	sc.qtrees[2] = q.tree.CloneInto(sc.qtrees[2])
	t := sc.qtrees[2]
	for _, s := range v.p.Starts {
		j := v.x.job(s.Job)
		if j == nil {
			continue
		}
		ti := t.Tenant(j.Tenant)
		if ti < 0 {
			continue
		}
		need := q.byModel(v.x, s.Replicas)
		for _, m := range sortedModels(need) {
			if avail := t.Available(ti, m); avail < need[m] {
				v.add(CodeQuota, j.ID, "", -1, "takes %d %s but tenant %s may use only %d more (uses %d, nominal %d)",
					need[m], q.models[m], j.Tenant, max(0, avail), t.Usage(ti, m), t.Nominal(ti, m))
			} else if v.x.fac.Policy.BorrowPreemptibleOnly && !j.Preemptible && t.Usage(ti, m)+need[m] > t.Nominal(ti, m) {
				v.add(CodeQuota, j.ID, "", -1, "takes %d %s, taking tenant %s beyond its nominal quota (uses %d, nominal %d), but it is not preemptible (policy borrowing: preemptible)",
					need[m], q.models[m], j.Tenant, t.Usage(ti, m), t.Nominal(ti, m))
			}
			t.Add(ti, m, need[m])
		}
	}
}

// quotas returns the snapshot's quota tree, built once per Verify.
func (v *verifier) quotas() *quotas {
	if v.q == nil {
		v.q = v.x.newQuotas(v.snap)
	}
	return v.q
}

// priority is the value of a job's priority class; 0 for none or an
// unknown class.
func (v *verifier) priority(j *model.Job) int {
	for _, c := range v.x.fac.PriorityClasses {
		if c.Name == j.PriorityClass {
			return c.Value
		}
	}
	return 0
}

// need is the fewest GPUs job j must get to start: the whole gang, or a
// deployment's missing minimum (at least one replica).
func (v *verifier) need(j *model.Job) int {
	if j.Kind == model.KindDeployment {
		return j.GPUsPerReplica * max(1, min(j.MinReplicas, j.Replicas)-v.x.runningReplicas(j.ID))
	}
	return j.TotalGPUs()
}
