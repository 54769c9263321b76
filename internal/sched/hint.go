package sched

import (
	"sort"

	"github.com/carnot-dc/carnot/internal/model"
)

// Estimate hints: where an estimate's search found its job's first fit
// last time. Between two passes a few jobs start and end, so a blocked
// job's first fit is mostly where it was, and two probes (the boundary
// before does not fit, this one does) replace a search of a dozen. A
// hint only decides where the search looks first: wherever it points,
// the search ends at the first boundary that fits, so a stale hint
// costs probes, never a different answer.

// hints are kept by the Queue between passes: a pass reads the last
// pass's and writes its own.
type hints struct {
	perJob[hintAt]
	// for tests: hints read, and those that pointed at the first fit
	used, right int
}

// hintAt is where an estimate of a job on GPU model m first fitted. A
// job of several models is estimated on each (earliestModel): the hint
// kept is the last one's, and serves only an estimate on the same model.
type hintAt struct {
	at model.Time
	m  int
}

// hintBound is the index of the first boundary at or after the release
// instant at which j's last estimate on model m first fitted (the last
// boundary for a job that fitted at none); -1 without a hint.
func (p *pass) hintBound(j *model.Job, m int, bounds []int) int {
	h, ok := p.prep.hints.get(j)
	if !ok || h.m != m {
		return -1
	}
	b := sort.Search(len(bounds), func(b int) bool { return p.releases[bounds[b]-1].at >= h.at })
	return min(b, len(bounds)-1)
}

// noteHint records where j's estimate on model m first fitted
// (model.Forever: at no boundary).
func (p *pass) noteHint(j *model.Job, m int, at model.Time) { p.prep.hints.put(j, hintAt{at, m}) }
