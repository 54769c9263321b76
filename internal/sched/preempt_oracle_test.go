package sched

import (
	"fmt"
	"reflect"

	"github.com/carnot-dc/carnot/internal/model"
)

// CheckVictimSearch compares, for every pending job of snap and every
// GPU model, the search's candidates (victimList of matchVictims) with
// oracleCandidates, and checks that victimSet finds no set wherever
// quotaBars settles a search. It does so on a fresh pass and on a pass
// that has run (its starts use quota, its evictions are no candidates
// any more). It reports the searches that had candidates and how many
// of them quotaBars settled.
func CheckVictimSearch(snap *model.Snapshot, now model.Time) (searches, barred int, err error) {
	for _, run := range []bool{false, true} {
		p := newPass(snap, now, nil, nil, nil, nil)
		if run {
			p.run(NewQueue(snap.Facility, snap.Pending), 0)
		}
		for _, j := range snap.Pending {
			t := p.tenants[j.Tenant]
			if _, ok := p.validate(t, j); !ok {
				continue
			}
			ss := p.sitesFor(t, j)
			if !ss.ok {
				continue
			}
			p.curSites = ss.id
			for _, mf := range modelsFree(p.allModels) {
				m, free := mf.m, mf.free
				want := p.oracleCandidates(t, j, m, ss.mask, free)
				refs, _ := p.matchVictims(t, j, m, ss.mask, free)
				got := p.victimList(refs)
				if !reflect.DeepEqual(want, got) && len(want)+len(got) > 0 {
					return searches, barred, fmt.Errorf("job %s, model %d (ran %v, free of the ratio %v): candidates %s, oracle %s", j.ID, m, run, free, victimIDs(got), victimIDs(want))
				}
				if len(got) == 0 {
					continue
				}
				searches++
				if !p.quotaBars(j, m, refs) {
					continue
				}
				barred++
				a := attempt{model: m, req: p.request(t, j, m, ss.mask)}
				if set := p.victimSet(t, j, &a, got); set != nil {
					return searches, barred, fmt.Errorf("job %s, model %d (ran %v): quota bars the search, but victims %s make room", j.ID, m, run, victimIDs(set))
				}
			}
		}
	}
	return searches, barred, nil
}

// modelSearch is a model searched within victim_ratio, or free of it
// (reclaim under Policy.ReclaimAnySize).
type modelSearch struct {
	m    int
	free bool
}

// modelsFree is each model twice: within the ratio, and free of it.
func modelsFree(models []int) []modelSearch {
	var out []modelSearch
	for _, m := range models {
		out = append(out, modelSearch{m, false}, modelSearch{m, true})
	}
	return out
}

func victimIDs(vs []victim) []string {
	var ids []string
	for _, v := range vs {
		ids = append(ids, v.a.Job.ID)
	}
	return ids
}

// oracleCandidates is the candidate scan as it was before matchVictims:
// every entry of the index, each allocation read, tenants compared by
// name, then the bounds of proportionate; free: another tenant's
// victims are not bounded by the ratio when j reclaims and the policy's
// ReclaimAnySize is on.
func (p *pass) oracleCandidates(t *model.Tenant, j *model.Job, m int, sites []bool, free bool) []victim {
	prio := p.priority(j)
	ti, root := p.q.Tenant(t.Name), -1
	if ti >= 0 {
		root = p.q.Root(ti)
	}
	reclaim := p.pol.Reclaim && p.pol.Quotas && p.withinNominal(t, j, m)
	var refs []*vref
	for i := range p.victimIndex()[m] {
		ref := &p.vIdx[m][i]
		if ref.hole() {
			continue
		}
		a := p.alloc(ref)
		v := a.Job
		if p.victims[v.ID] || p.leavingPart(v.ID) { // a victim, or replicas of it still leaving
			continue
		}
		lower := p.pol.Preemption && ref.prio < prio
		ok := false
		switch {
		case v.Tenant == t.Name || !p.pol.Quotas:
			ok = lower
		default:
			vi := ref.ti
			shared := vi >= 0 && ti >= 0 && ref.root == root
			// Reclaim takes back GPUs: it evicts no GPU-less job.
			ok = shared && p.projected(vi, m) > p.q.Nominal(vi, m) && (lower || reclaim && ref.gpus > 0)
		}
		held := sites == nil
		for _, s := range ref.sites {
			held = held || sites[s]
		}
		need := p.ratioNeed(j)
		if free && reclaim && p.pol.ReclaimAnySize && v.Tenant != t.Name && p.pol.Quotas {
			need = 0
		}
		if ok && held && proportionate(&p.pol, need, ref.gpus, lower, a.Started, p.now) {
			refs = append(refs, ref)
		}
	}
	return p.victimList(refs) // the order and the bound are not what changed
}

// SetQuotaShortcut turns preempt's quotaBars shortcut on or off.
func SetQuotaShortcut(on bool) { quotaShortcut = on }
