package sched

import (
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/place"
)

// timeline is the cluster moved forward in time by applying releases in
// order, under an undo log; what-if probes go further ahead under a
// nested one.
//
// An estimate reads only the nodes its request may use and the power
// containers (sites, halls, racks) that hold them: need, when set, marks
// the power parts (see powerParts) of those nodes, and releases on nodes
// of other parts are left out. Such a node shares no container with a
// node the request may use, so leaving it as it is changes no answer.
type timeline struct {
	p     *pass
	c     *place.Cluster
	cur   int    // releases[:cur] are applied
	need  []bool // by power part: its releases are applied; nil: all are
	parts []int32
}

// newTimeline starts a timeline on the pass's cluster itself, under an
// undo log (no copy of every node): the caller ends it with
// p.c.Rollback, and reads p.c for nothing else meanwhile. With need set
// it applies only the releases of the parts it marks.
func (p *pass) newTimeline(need []bool) *timeline {
	p.c.BeginFuture()
	t := &timeline{p: p, c: p.c, need: need}
	if need != nil {
		t.parts = p.powerParts().node
	}
	return t
}

// needs reports whether the timeline follows node n.
func (t *timeline) needs(n int) bool { return t.need == nil || t.need[t.parts[n]] }

func (t *timeline) apply(from, to int) {
	for i := range t.p.releases[from:to] {
		r := &t.p.releases[from+i]
		for k, pl := range r.reps {
			if n, ok := t.p.releaseNode(r, k); ok && t.needs(n) {
				t.c.Release(n, pl.GPUs, r.job, pl.PowerCapW)
			}
		}
	}
}

// releaseNode is the node index of placement k of release r; ok is false
// for an unknown node.
func (p *pass) releaseNode(r *release, k int) (int, bool) {
	if r.h != nil {
		n := r.h.nodes[k]
		return n, n >= 0
	}
	if r.idx >= 0 {
		return p.tally.nodeAt(p.c, r.idx, k, r.reps[k].Node)
	}
	n, ok := p.c.NodeIndex[r.reps[k].Node]
	return n, ok
}

// advance applies releases up to k for good.
func (t *timeline) advance(k int) {
	if k > t.cur {
		t.apply(t.cur, k)
		t.cur = k
	}
}

// probe applies releases up to k (k ≥ cur) and holds overlapping
// [at, end) in a what-if, and runs f. The holds and whatever f changed
// are rolled back; so are the releases, unless f fails and keep is set:
// then they stay applied (cur = k), as advance(k) would apply them again.
func (t *timeline) probe(k int, at, end model.Time, keep bool, f func(c *place.Cluster) bool) bool {
	k = max(k, t.cur)
	t.c.Begin()
	t.apply(t.cur, k)
	t.c.Begin()
	for _, h := range t.p.holds {
		if h.start < end && h.end > at {
			for _, s := range h.slots {
				if t.needs(s.Node) {
					t.c.Alloc(s.Node, s.GPUs, h.job, 0, false)
				}
			}
		}
	}
	ok := f(t.c)
	t.c.Rollback()
	if ok || !keep {
		t.c.Rollback()
		return ok
	}
	t.c.Commit()
	t.cur = k
	return false
}

// powerParts groups the facility's nodes by the power containers they
// share: two nodes in one site, hall or rack are in one part, and so,
// in turn, are the nodes of any container either shares. A pool's
// nodes share their site, so every pool lies in one part.
type powerParts struct {
	node []int32 // by node index
	pool []int32 // by pool index
	n    int     // number of parts
}

// powerParts returns the pass's facility's parts, worked out once per
// prepared facility.
func (p *pass) powerParts() *powerParts {
	if p.prep.parts == nil {
		p.prep.parts = newPowerParts(p.c)
	}
	return p.prep.parts
}

func newPowerParts(c *place.Cluster) *powerParts {
	// union-find over nodes, then sites, halls and racks
	nn, ns, nh := len(c.Nodes), len(c.Sites), len(c.Halls)
	up := make([]int32, nn+ns+nh+len(c.Racks))
	for i := range up {
		up[i] = int32(i)
	}
	root := func(i int32) int32 {
		for up[i] != i {
			up[i] = up[up[i]]
			i = up[i]
		}
		return i
	}
	join := func(a, b int) {
		if ra, rb := root(int32(a)), root(int32(b)); ra != rb {
			up[max(ra, rb)] = min(ra, rb)
		}
	}
	for n := range c.Nodes {
		nd := &c.Nodes[n]
		if nd.Site >= 0 {
			join(n, nn+nd.Site)
		}
		if nd.Hall >= 0 {
			join(n, nn+ns+nd.Hall)
		}
		if nd.Rack >= 0 {
			join(n, nn+ns+nh+nd.Rack)
		}
	}
	pp := &powerParts{node: make([]int32, nn), pool: make([]int32, len(c.Pools))}
	id := make(map[int32]int32)
	for n := range c.Nodes {
		r := root(int32(n))
		k, ok := id[r]
		if !ok {
			k = int32(len(id))
			id[r] = k
		}
		pp.node[n] = k
	}
	pp.n = len(id)
	for i := range c.Pools {
		pp.pool[i] = pp.node[c.Pools[i].Nodes[0]]
	}
	return pp
}

// neededParts marks the power parts of the pools req may use, in a
// buffer the pass reuses.
func (p *pass) neededParts(req *place.Request) []bool {
	pp := p.powerParts()
	need := p.partNeed[:0]
	for range pp.n {
		need = append(need, false)
	}
	for i := range p.c.Pools {
		pool := &p.c.Pools[i]
		if pool.Model == req.Model && (req.Sites == nil || req.Sites[pool.Site]) {
			need[pp.pool[i]] = true
		}
	}
	p.partNeed = need
	return need
}
