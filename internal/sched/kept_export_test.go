package sched

import (
	"fmt"
	"slices"

	"github.com/carnot-dc/carnot/internal/model"
)

// KeptMatchesFresh compares the victim index and the release list q's
// view keeps for snap (the snapshot of q's last Quick) with the ones a
// pass builds from scratch at now. It reports false when the view keeps
// none (so the pass builds its own), and the first difference.
func KeptMatchesFresh(q *Queue, snap *model.Snapshot, now model.Time) (bool, error) {
	b := &q.base
	if b.c == nil || b.fragile {
		return false, nil
	}
	t := b.tally
	// the view is of the snapshot with loans taken back, as Quick plans
	keep := q.recalls
	snap, _ = recall(snap, &keep, func(id string) bool { _, ok := q.Get(id); return ok })
	b.c.Begin()
	defer b.c.Rollback()
	p := newPass(snap, now, &q.prep, b.c, &t, func(id string) (string, bool) {
		if j, ok := q.Get(id); ok {
			return j.Tenant, true
		}
		return "", false
	})
	defer func() { p.unshareReleases(); q.prep.last = p }()

	idx, mins, live, ok := b.victimIndex(p.victimWho)
	if !ok {
		return false, fmt.Errorf("the view keeps no victim index though it is not fragile")
	}
	fresh := p.ownVictimIndex()
	for m := range fresh {
		var got []vref
		for _, r := range idx[m] {
			if !r.hole() {
				r.a, r.h = p.alloc(&r), nil
				got = append(got, r)
			}
		}
		if len(got) != live[m] {
			return true, fmt.Errorf("model %d: %d entries counted, %d listed", m, live[m], len(got))
		}
		if mins[m] != p.minVictimPrio[m] {
			return true, fmt.Errorf("model %d: lowest victim priority %d, fresh %d", m, mins[m], p.minVictimPrio[m])
		}
		if !slices.EqualFunc(got, fresh[m], func(x, y vref) bool {
			return x.a == y.a && x.gpus == y.gpus && slices.Equal(x.sites, y.sites) && x.victimWho == y.victimWho
		}) {
			return true, fmt.Errorf("model %d: kept victims %s, fresh %s", m, vrefs(got), vrefs(fresh[m]))
		}
	}

	p.kept = b
	p.buildReleases()
	p.sortReleases()
	got := p.releases
	p.unshareReleases()
	p.kept, p.releases, p.relSortedN, p.boundsStale = nil, nil, 0, false
	p.buildReleases()
	p.sortReleases()
	if !slices.EqualFunc(got, p.releases, func(x, y release) bool {
		return x.at == y.at && x.job == y.job && samePlacements(x.reps, y.reps)
	}) {
		return true, fmt.Errorf("kept releases %s, fresh %s", rels(got), rels(p.releases))
	}
	for i := range got {
		for k := range got[i].reps {
			n, ok := p.releaseNode(&got[i], k)
			fn, fok := p.releaseNode(&p.releases[i], k)
			if n != fn || ok != fok {
				return true, fmt.Errorf("release %d (%s) placement %d: node %d, %v; fresh %d, %v", i, got[i].job.ID, k, n, ok, fn, fok)
			}
		}
	}
	return true, nil
}

func vrefs(rs []vref) string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%s:%d%v", r.a.Job.ID, r.gpus, r.sites))
	}
	return fmt.Sprint(out)
}

func rels(rs []release) string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%s@%d", r.job.ID, r.at))
	}
	return fmt.Sprint(out)
}

// KeptCounts reports how often q's view built its kept victim index or
// release list and how often it applied notes to them.
func KeptCounts(q *Queue) (builds, updates int) { return q.base.kept.builds, q.base.kept.updates }
