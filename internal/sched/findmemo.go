package sched

import (
	"fmt"
	"slices"

	"github.com/carnot-dc/carnot/internal/sched/place"
)

// A gang's placement kept between passes. A blocked gang asks for its
// room again at every pass and mostly gets the same answer: room that
// the power of its site then does not allow, or none. Find reads only the
// pools of the request's GPU model (the allowed ones in full, the others'
// nodes for the diagnosis) and never the clock, so its answer holds
// while none of those sites changed in the view (place/version.go) or in
// the pass before it, for the same request.

// findMemo is one kept answer of Find.
type findMemo struct {
	key   findKey
	sites []bool
	read  stamp
	res   place.Result
}

// findKey is a request less its sites and its job, which Find does not
// read.
type findKey struct {
	req                        reqKey
	constrained, probe, exists bool
}

// findMemos are the Queue's kept answers, by job: a pass reads the last
// pass's and writes its own.
type findMemos struct {
	perJob[*findMemo]
	hits int // for tests
}

// find is Find, through the memo for a gang on a kept view at the top of
// a pass (no what-if open but the pass's own).
func (p *pass) find(r *place.Request) place.Result {
	if p.kept == nil || r.Replicas <= 1 || r.Job == nil || p.c.InWhatIf() {
		return p.c.Find(r)
	}
	domain := p.modelSites(r.Model)
	if p.c.ChangedIn(domain) {
		return p.c.Find(r)
	}
	k := keyOf(r)
	k.job = nil
	key := findKey{req: k, constrained: r.Constrained, probe: r.Probe, exists: r.Exists}
	if e, _ := p.prep.finds.get(r.Job); e != nil && e.key == key && sameSites(e.sites, r.Sites) && p.unchanged(e.read, domain) {
		p.prep.finds.put(r.Job, e)
		p.prep.finds.hits++
		res := e.res // slots are shared: nothing writes into a placement found
		if checkMemo {
			if got := p.c.Find(r); !sameResult(got, res) {
				panic(fmt.Sprintf("sched: kept placement of %s differs: %+v, found again %+v", r.Job.ID, res, got))
			}
		}
		return res
	}
	res := p.c.Find(r)
	e := &findMemo{key: key, sites: slices.Clone(r.Sites), read: p.stampOf(domain), res: res}
	p.prep.finds.put(r.Job, e)
	return res
}

// modelSites is the sites with a pool of GPU model m.
func (p *pass) modelSites(m int) []bool {
	d := make([]bool, len(p.c.Sites))
	for i := range p.c.Pools {
		if pool := &p.c.Pools[i]; pool.Model == m {
			d[pool.Site] = true
		}
	}
	return d
}

func sameResult(a, b place.Result) bool {
	sa, sb := a.Slots, b.Slots
	if a.Fit != b.Fit || a.FreeGPUs != b.FreeGPUs || a.Largest != b.Largest || a.LargestGroup != b.LargestGroup ||
		a.Rejected != b.Rejected || a.DirtyOther != b.DirtyOther || a.Down != b.Down || a.Claimed != b.Claimed || a.ClaimedBy != b.ClaimedBy {
		return false
	}
	ab, ak := a.Blocker()
	bb, bk := b.Blocker()
	if ab != bb || ak != bk {
		return false
	}
	return (sa == nil) == (sb == nil) && sameSlots(sa, sb)
}

// sameSlots reports whether two placements take the same GPUs of the
// same nodes, slot by slot.
func sameSlots(a, b []place.Slot) bool {
	return slices.EqualFunc(a, b, func(x, y place.Slot) bool { return x.Node == y.Node && slices.Equal(x.GPUs, y.GPUs) })
}
