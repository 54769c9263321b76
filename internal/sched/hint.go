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
	perJob[model.Time]
	// for tests: hints read, and those that pointed at the first fit
	used, right int
}

// hintBound is the index of the first boundary at or after the release
// instant at which j's last estimate first fitted (the last boundary for
// a job that fitted at none); -1 without a hint.
func (p *pass) hintBound(j *model.Job, bounds []int) int {
	at, ok := p.prep.hints.get(j)
	if !ok {
		return -1
	}
	b := sort.Search(len(bounds), func(b int) bool { return p.releases[bounds[b]-1].at >= at })
	return min(b, len(bounds)-1)
}

// noteHint records where j's estimate first fitted (model.Forever: at
// no boundary).
func (p *pass) noteHint(j *model.Job, at model.Time) { p.prep.hints.put(j, at) }
