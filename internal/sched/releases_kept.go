package sched

import (
	"slices"
	"sort"
	"strings"
)

// keptReleases takes the running allocations' releases from the Queue's
// view (see kept) instead of building and sorting them: as they are
// when no allocation is overdue, else a copy in which the overdue ones
// are expected now, ordered by job ID. The pass's starts so far are
// added after them and merged in by sortReleases. False means there is
// no kept list, or a start's job also runs (a deployment scaling up),
// whose two releases may tie: the pass then builds its own.
func (p *pass) keptReleases() bool {
	if p.kept == nil {
		return false
	}
	for i := range p.plan.Starts {
		if p.running(p.startJobs[i].ID) != nil {
			return false
		}
	}
	rels, ok := p.kept.releaseList()
	if !ok {
		return false
	}
	if len(rels) == 0 || rels[0].at >= p.now {
		p.relOwn, p.relShared = p.releases[:0], true
		p.releases = rels[:len(rels):len(rels)] // an append copies
	} else {
		// the overdue ones and those due now are all due now, by job ID
		overdue := sort.Search(len(rels), func(i int) bool { return rels[i].at > p.now })
		p.releases = append(p.releases[:0], rels...)
		for i := range overdue {
			p.releases[i].at = p.now
		}
		slices.SortFunc(p.releases[:overdue], func(a, b release) int { return strings.Compare(a.job.ID, b.job.ID) })
	}
	p.relSortedN, p.boundsStale = len(p.releases), true
	for i, st := range p.plan.Starts {
		if j := p.startJobs[i]; j.RuntimeLimit > 0 {
			p.addRelease(j, st.Replicas, p.now.Add(j.RuntimeLimit), -1)
		}
	}
	return true
}

// unshareReleases gives the pass back its own release buffer before the
// next pass reuses it, so that no pass writes into the kept list.
func (p *pass) unshareReleases() {
	if p.relShared {
		p.releases, p.relShared, p.relOwn = p.relOwn, false, nil
	}
}
