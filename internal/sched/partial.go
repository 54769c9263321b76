package sched

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/place"
)

// A deployment running more replicas than it keeps (model.KeepsReplicas:
// its MinReplicas, at least one) may give up some of those above it
// instead of being preempted whole, as Kubernetes preempts pods rather
// than whole workloads: each preemption of the 15-replica deployment of
// examples/plan/deferral-load.yaml took all 15 replicas for a job that
// needed a few GPUs. Such a deployment is a candidate (partialVictims)
// for its replicas above the minimum, those on the nodes most use to
// the job first, at no cost (they lose no work: partVictim); once a set
// of victims lets the job fit, each partial victim gives up only the
// replicas the job needs (shrink). Only when no set of partial victims makes room are the
// deployments taken whole. The plan names the replicas taken
// (model.Preemption.Replicas); until they have left, the drivers list
// them as a terminating allocation of their own (model.LeavingJob), and
// the deployment is no victim again (leavingPart).

// partialVictims is cands with each deployment that runs more replicas
// than it keeps replaced by its replicas above the minimum (helpful to
// request r first, see helpfulReplicas), at no cost, in victimList's
// order; nil when no candidate is such a deployment.
func (p *pass) partialVictims(cands []victim, r *place.Request) []victim {
	m := r.Model
	var out []victim
	for k, v := range cands {
		j := v.a.Job
		keep := model.KeepsReplicas(j)
		if j.Kind != model.KindDeployment || len(v.a.Replicas) <= keep {
			if out != nil {
				out = append(out, v)
			}
			continue
		}
		if out == nil {
			out = append(make([]victim, 0, len(cands)), cands[:k]...)
		}
		sub := *v.a
		sub.Replicas = p.helpfulReplicas(v.a.Replicas, r)[:len(v.a.Replicas)-keep]
		out = append(out, p.partVictim(v, &sub, m))
	}
	if out == nil {
		return nil
	}
	sort.SliceStable(out, func(x, y int) bool { return cheaper(out[x], out[y]) })
	return out
}

// partVictim is victim v (a whole allocation) taking only sub's replicas,
// of which the GPUs of model m count against its tenant's quota. Those
// replicas lose no work: a deployment has no progress to lose and serves
// on with the others, so they cost nothing (lost 0), and are taken
// before work that would lose what it did since its checkpoint.
func (p *pass) partVictim(v victim, sub *model.Allocation, m int) victim {
	onM := int64(0)
	for _, r := range sub.Replicas {
		if n, ok := p.c.NodeIndex[r.Node]; ok && p.c.Nodes[n].Model == m {
			onM += int64(len(r.GPUs))
		}
	}
	return victim{a: sub, ti: v.ti, gpus: onM, prio: v.prio, whole: v.whole0()}
}

// whole0 is the allocation v takes replicas of: its own when whole.
func (v victim) whole0() *model.Allocation {
	if v.whole != nil {
		return v.whole
	}
	return v.a
}

// helpfulReplicas orders a copy of reps by how much their leaving helps
// a job placed by request r (on model r.Model): those on the model's
// nodes first, then those on the nodes with the most GPUs free once the
// deployment's replicas there have left (a job fits where they join
// free GPUs), then with the most free now (fewer replicas make that
// room), by node name, the last started first. Free means free for r
// (freeFor), and a GPU down given back is still down. A node not up (draining, down,
// unreachable, or hidden in a what-if) takes nothing new, so a replica
// there makes no room, whatever it holds.
func (p *pass) helpfulReplicas(reps []model.Placement, r *place.Request) []model.Placement {
	p.repRoom = reuse(p.repRoom)
	room := p.repRoom
	for _, rep := range reps {
		room[rep.Node] += len(rep.GPUs)
		if n, ok := p.c.NodeIndex[rep.Node]; ok && p.c.Nodes[n].GPUsDown != 0 {
			for _, g := range rep.GPUs { // a GPU down given back is still down
				if g >= 0 && g < 64 && p.c.Nodes[n].GPUsDown&(1<<g) != 0 {
					room[rep.Node]--
				}
			}
		}
	}
	ranks := slices.Grow(p.repRanks[:0], len(reps))[:len(reps)]
	p.repRanks = ranks
	for i, rep := range reps {
		rk := repRank{i: i, room: room[rep.Node]}
		if n, ok := p.c.NodeIndex[rep.Node]; ok {
			nd := &p.c.Nodes[n]
			if !nd.Up {
				rk.room = 0
				ranks[i] = rk
				continue
			}
			rk.onM = nd.Model == r.Model
			rk.free = p.freeFor(n, r)
			rk.room += rk.free
		}
		ranks[i] = rk
	}
	slices.SortStableFunc(ranks, func(a, b repRank) int {
		if a.onM != b.onM {
			if a.onM {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(b.room, a.room), cmp.Compare(b.free, a.free), strings.Compare(reps[a.i].Node, reps[b.i].Node), cmp.Compare(b.i, a.i))
	})
	out := make([]model.Placement, len(reps))
	for k, rk := range ranks {
		out[k] = reps[rk.i]
	}
	return out
}

// repRank is a replica's place in helpfulReplicas' order: its index,
// the room its node would have once its replicas there have left, the
// free GPUs there now, and whether the node has the request's model.
type repRank struct {
	i, room, free int
	onM           bool
}

// freeFor is how many free GPUs of node n the job of request r could
// take once its victims have left: none down, none dirty after another
// tenant (or after none known), none claimed for another pending job
// (place.Cluster.UsableBy).
func (p *pass) freeFor(n int, r *place.Request) int { return p.c.UsableBy(n, r.Tenant, r.Claim) }

// shrink has each partial victim of set give up only the replicas j
// needs: the fewest of its most helpful ones with which j still fits,
// then without each of those it can spare, last first.
func (p *pass) shrink(j *model.Job, a *attempt, set []victim) []victim {
	set = slices.Clone(set)
	for k := range set {
		v := set[k]
		if v.whole == nil {
			continue
		}
		reps := v.a.Replicas
		with := func(rs []model.Placement) victim {
			sub := *v.a
			sub.Replicas = rs
			return p.partVictim(v, &sub, a.model)
		}
		trial := func(rs []model.Placement) bool {
			set[k] = with(rs)
			ok := p.fitsWithout(j, a, set)
			set[k] = v
			return ok
		}
		n := firstFit(len(reps), func(i int) bool { return trial(reps[:i+1]) })
		if n == len(reps) {
			continue // only all of them: as chosen
		}
		keep := slices.Clone(reps[:n+1])
		for i := len(keep) - 2; i >= 0; i-- {
			if rs := slices.Delete(slices.Clone(keep), i, i+1); trial(rs) {
				keep = rs
			}
		}
		set[k] = with(keep)
	}
	return set
}

// proportionateParts reports whether each partial victim of set gives
// up no more than Policy.VictimRatio times what j needs (a deployment
// may be a candidate for its replicas while the ratio spares it whole:
// matchVictims). With anySize (a search free of the ratio for a job
// that reclaimsAnySize) another tenant's
// deployment is not bounded: j reclaims from it.
func (p *pass) proportionateParts(j *model.Job, set []victim, anySize bool) bool {
	r, need := int64(p.pol.VictimRatio), p.ratioNeed(j)
	if r <= 0 || need <= 0 {
		return true
	}
	ti := p.tenantIndex(j.Tenant)
	for _, v := range set {
		if v.whole != nil && v.gpus > r*need && !(anySize && v.ti >= 0 && v.ti != ti) {
			return false
		}
	}
	return true
}

// wholeOnly is cands without the deployments the ratio lets give up
// replicas only; cands itself when there are none.
func wholeOnly(cands []victim) []victim {
	if !slices.ContainsFunc(cands, func(v victim) bool { return v.partOnly }) {
		return cands
	}
	return slices.DeleteFunc(slices.Clone(cands), func(v victim) bool { return v.partOnly })
}

// leavingPart reports whether deployment id has replicas leaving for an
// earlier partial preemption (a terminating allocation of its own, the
// deployment running on): it is no victim, and no recap changes its
// caps, until they have left. Built on first use from the terminating
// allocations, never from all that run.
func (p *pass) leavingPart(id string) bool { return p.leavingReplicas(id) > 0 }

// leavingReplicas counts deployment id's replicas leaving for a partial
// preemption (the allocation of model.LeavingJob): they still run, and
// count against its replica count.
func (p *pass) leavingReplicas(id string) int {
	if len(p.tally.terminating) == 0 {
		return 0 // no part leaves: nothing to build
	}
	if p.partLeaving == nil {
		p.partLeaving = map[string]int{}
		for _, a := range p.tally.terminating {
			if a.Job == nil {
				continue
			}
			if id, ok := model.LeavingOf(a.Job.ID); ok {
				p.partLeaving[id] += len(a.Replicas)
			}
		}
	}
	return p.partLeaving[id]
}

// partNote is a partial preemption's addition to its reason: which
// replicas it takes and what the deployment keeps.
func partNote(v victim) string {
	w := v.whole0()
	reps := inOrderOf(w.Replicas, v.a.Replicas)
	nodes := make([]string, len(reps))
	for i, r := range reps {
		nodes[i] = fmt.Sprintf("%s:%v", r.Node, r.GPUs)
	}
	return fmt.Sprintf("; takes %d of its %d replicas (%s), above its minimum of %d; the deployment keeps %d running",
		len(v.a.Replicas), len(w.Replicas), strings.Join(nodes, " "), model.KeepsReplicas(w.Job), len(w.Replicas)-len(v.a.Replicas))
}

// inOrderOf is the replicas sub of all, in all's order.
func inOrderOf(all, sub []model.Placement) []model.Placement {
	out := make([]model.Placement, 0, len(sub))
	for _, r := range all {
		if model.HasReplica(sub, r.Node, r.GPUs) {
			out = append(out, r)
		}
	}
	return out
}
