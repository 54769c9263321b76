package sched

import (
	"container/heap"
	"slices"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
)

// Fair share is hierarchical, in the manner of Slurm's Fair Tree: tenants
// sit under their cohorts (the quota tree), and at every level siblings
// are ranked by their usage per weight — a cohort's usage is the sum of
// its tenants', its weight its own fair_share_weight or else the sum of
// its tenants' weights. The next job comes
// from the lowest-ranked child at each level, all the way down. Only the
// path of the tenant that just got a job changes, so each level keeps a
// heap and the path is fixed up after the job is charged.

// fairShares holds the normalised usage of every tenant and cohort and
// the cohort tree, for one pass. The tree, the weights and the index of
// each usage cell are the facility's and shared between clones; each
// clone has its own cells.
type fairShares struct {
	tenant  map[string]int      // tenant → its cell in cells
	cohort  map[string]int      // cohort → its cell in cells
	cells   []float64           // usage / weight, in GPUs
	extra   map[string]*float64 // unknown tenants met by share (own)
	weight  map[string]float64  // tenants' weights
	cweight map[string]float64  // cohorts' weights
	parent  map[string]string   // tenant or "cohort\x00name" → parent cohort
	chain   map[string][]string
	path    map[string][]fsStep // tenant → the cells charge adds to, its own first
	pathAt  [][]fsStep          // the same by index in Facility.Tenants
}

// fsStep is one cell a tenant's usage is added to, and the weight it is
// divided by there.
type fsStep struct {
	cell   int
	weight float64
}

func newFairShares(fac *model.Facility) *fairShares {
	f := &fairShares{tenant: map[string]int{}, cohort: map[string]int{},
		weight: map[string]float64{}, cweight: map[string]float64{}, parent: map[string]string{},
		chain: map[string][]string{}}
	cparent := map[string]string{}
	fixed := map[string]float64{}
	for _, c := range fac.Cohorts {
		cparent[c.Name] = c.Parent
		if _, dup := f.cohort[c.Name]; !dup {
			f.cohort[c.Name] = len(f.cells)
			f.cells = append(f.cells, 0)
		}
		if c.FairShareWeight > 0 {
			fixed[c.Name] = c.FairShareWeight
		}
	}
	for i := range fac.Tenants {
		t := &fac.Tenants[i]
		w := t.FairShareWeight
		if w <= 0 {
			w = 1
		}
		f.weight[t.Name] = w
		if _, dup := f.tenant[t.Name]; !dup {
			f.tenant[t.Name] = len(f.cells)
			f.cells = append(f.cells, 0)
		}
		var chain []string
		seen := map[string]bool{}
		for c := t.Cohort; c != "" && !seen[c]; c = cparent[c] {
			if _, ok := f.cohort[c]; !ok {
				break
			}
			seen[c] = true
			chain = append(chain, c)
			f.cweight[c] += w
		}
		f.chain[t.Name] = chain
	}
	for c, w := range fixed {
		f.cweight[c] = w
	}
	f.path = make(map[string][]fsStep, len(f.tenant))
	for name, i := range f.tenant {
		path := []fsStep{{cell: i, weight: f.weight[name]}}
		for _, c := range f.chain[name] {
			path = append(path, fsStep{cell: f.cohort[c], weight: f.cweight[c]})
		}
		f.path[name] = path
	}
	f.pathAt = make([][]fsStep, len(fac.Tenants))
	for i := range fac.Tenants {
		f.pathAt[i] = f.path[fac.Tenants[i].Name]
	}
	return f
}

// cloneInto returns fair shares with the same tree and weights and their
// own usage cells (the tree and weights never change during a pass),
// reusing dst (nil, or an earlier clone of f that is done with).
func (f *fairShares) cloneInto(dst *fairShares) *fairShares {
	if dst == nil {
		dst = &fairShares{}
	}
	cells, extra := dst.cells, dst.extra
	*dst = *f
	dst.cells = append(cells[:0], f.cells...)
	dst.extra = nil
	if len(f.extra) > 0 || len(extra) > 0 {
		clear(extra)
		if extra == nil {
			extra = map[string]*float64{}
		}
		for name, v := range f.extra {
			x := *v
			extra[name] = &x
		}
		dst.extra = extra
	}
	return dst
}

// charge adds gpus (GPU-equivalents of usage) to a tenant and its cohorts.
func (f *fairShares) charge(tenant string, gpus float64) {
	path, ok := f.path[tenant]
	if !ok {
		if s := f.extra[tenant]; s != nil { // as a known tenant without a weight
			*s += gpus / f.weight[tenant]
		}
		return
	}
	for _, st := range path {
		f.cells[st.cell] += gpus / st.weight
	}
}

// chargePath is charge along a path looked up before (nil: by name).
func (f *fairShares) chargePath(path []fsStep, tenant string, gpus float64) {
	if path == nil {
		f.charge(tenant, gpus)
		return
	}
	for _, st := range path {
		f.cells[st.cell] += gpus / st.weight
	}
}

// share is a tenant's normalised usage (0 for unknown tenants).
func (f *fairShares) share(tenant string) *float64 {
	if i, ok := f.tenant[tenant]; ok {
		return &f.cells[i]
	}
	if s := f.extra[tenant]; s != nil {
		return s
	}
	s := new(float64)
	if f.extra == nil {
		f.extra = map[string]*float64{}
	}
	f.extra[tenant] = s
	return s
}

// fsNode is a cohort or a tenant in one priority level's tree.
type fsNode struct {
	name   string
	share  *float64
	parent *fsNode
	kids   fsHeap
	pos    int
	cur    *cursor // tenants only
}

type fsHeap []*fsNode

func (h fsHeap) Len() int { return len(h) }
func (h fsHeap) Less(i, j int) bool {
	a, b := h[i], h[j]
	if *a.share != *b.share {
		return *a.share < *b.share
	}
	if (a.cur == nil) != (b.cur == nil) {
		return a.cur == nil // cohorts before tenants on ties
	}
	if a.cur != nil { // equal shares: the job submitted first, then its ID
		ja, jb := a.cur.head(), b.cur.head()
		if ja != nil && jb != nil && ja.ID != jb.ID {
			return a.cur.t.less(ja, jb)
		}
	}
	return a.name < b.name
}
func (h fsHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].pos, h[j].pos = i, j
}
func (h *fsHeap) Push(x any) {
	n := x.(*fsNode)
	n.pos = len(*h)
	*h = append(*h, n)
}
func (h *fsHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// fsMem is the memory fair-share trees are built in, reused from level
// to level and from pass to pass: a level's tree is done with (its last
// leaf settled) before the next one is built, and a Queue serves one
// pass at a time.
type fsMem struct {
	root    fsNode
	zero    float64
	cursors []cursor
	leaves  []fsNode
	inner   []fsNode  // cohorts' nodes, taken in order
	cohorts []*fsNode // by cell: the cohort's node in the tree being built
	set     []int     // the cells of cohorts set, to clear for the next tree
	// a second round's jobs by tenant (laterLevel)
	later    qlevel
	laterTs  []qtenant
	laterIdx map[string]int
	// postponed: the memory of a pass's postponed jobs (queue.postpone);
	// urgent and done, of its urgent jobs and the jobs served out of turn
	postponed, urgent []*model.Job
	done              map[*model.Job]bool
}

// freshDone is an empty set of jobs served out of turn, for a pass.
func (m *fsMem) freshDone() map[*model.Job]bool {
	m.done = reuse(m.done)
	return m.done
}

// laterLevel groups the jobs of a second round, jobs, by tenant for its
// fair-share tree: tenants by name, each one's jobs in the order they
// were postponed (its own order: the first round walks each tenant's
// jobs in turn). It reuses the last second round's memory.
func (m *fsMem) laterLevel(jobs []*model.Job, less func(a, b *model.Job) bool) *qlevel {
	ts := m.laterTs[:0]
	// a few tenants are looked up in ts, more in the map
	find := func(name string) (int, bool) {
		if len(ts) > 8 {
			k, ok := m.laterIdx[name]
			return k, ok
		}
		for k := range ts {
			if ts[k].name == name {
				return k, true
			}
		}
		return 0, false
	}
	for _, j := range jobs {
		k, ok := find(j.Tenant)
		if !ok {
			k = len(ts)
			if k == 8 {
				if m.laterIdx == nil {
					m.laterIdx = map[string]int{}
				}
				clear(m.laterIdx)
				for i := range ts {
					m.laterIdx[ts[i].name] = i
				}
			}
			if k >= 8 {
				m.laterIdx[j.Tenant] = k
			}
			var buf []*model.Job
			if k < cap(ts) {
				buf = ts[:k+1][k].jobs
				clear(buf[:cap(buf)])
			}
			ts = append(ts, qtenant{less: less, name: j.Tenant, jobs: buf[:0]})
		}
		ts[k].jobs = append(ts[k].jobs, j)
		ts[k].live++
	}
	m.laterTs = ts
	l := &m.later
	l.tenants = l.tenants[:0]
	for i := range ts {
		l.tenants = append(l.tenants, &ts[i])
	}
	slices.SortFunc(l.tenants, func(a, b *qtenant) int { return strings.Compare(a.name, b.name) })
	return l
}

// fairLevel builds the tree of the tenants with jobs at one level. A
// tenant's cohorts are found by their usage cells (its path), in a slice
// rather than a map: the tree is built at every pass.
func (m *fsMem) fairLevel(f *fairShares, l *qlevel) *fsNode {
	m.zero = 0
	root := &m.root
	*root = fsNode{name: "", share: &m.zero, kids: root.kids[:0]}
	m.inner = m.inner[:0]
	if cap(m.inner) < len(f.cells) { // never grows while the tree is built
		m.inner = make([]fsNode, 0, len(f.cells))
	}
	if cap(m.cohorts) < len(f.cells) {
		m.cohorts, m.set = make([]*fsNode, len(f.cells)), m.set[:0]
	}
	for _, c := range m.set {
		m.cohorts[c] = nil
	}
	m.set = m.set[:0]
	cohorts := m.cohorts[:len(f.cells)]
	// node is the cohort at path[k] (named chain[k-1]), made with its
	// parents when first met.
	var node func(path []fsStep, chain []string, k int) *fsNode
	node = func(path []fsStep, chain []string, k int) *fsNode {
		cell := path[k].cell
		if n := cohorts[cell]; n != nil {
			return n
		}
		m.inner = m.inner[:len(m.inner)+1]
		n := &m.inner[len(m.inner)-1]
		*n = fsNode{name: chain[k-1], share: &f.cells[cell], kids: n.kids[:0]}
		cohorts[cell] = n
		m.set = append(m.set, cell)
		n.parent = root
		if k+1 < len(path) {
			n.parent = node(path, chain, k+1)
		}
		heap.Push(&n.parent.kids, n)
		return n
	}
	n := 0
	for _, t := range l.tenants {
		if t.live > 0 {
			n++
		}
	}
	// one allocation for the level's tenants with jobs, kept for the next
	if cap(m.cursors) < n {
		m.cursors, m.leaves = make([]cursor, n), make([]fsNode, n)
	}
	cs, leaves := m.cursors[:n], m.leaves[:n]
	i := 0
	for _, t := range l.tenants {
		if t.live == 0 {
			continue
		}
		cs[i] = cursor{t: t}
		c := &cs[i]
		leaf := &leaves[i]
		i++
		*leaf = fsNode{name: t.name, cur: c, parent: root}
		path, known := f.path[t.name]
		if !known {
			leaf.share = f.share(t.name)
			heap.Push(&root.kids, leaf)
			continue
		}
		leaf.share = &f.cells[path[0].cell]
		if len(path) > 1 {
			leaf.parent = node(path, f.chain[t.name], 1)
		}
		heap.Push(&leaf.parent.kids, leaf)
	}
	return root
}

// pick descends from the root to the tenant to serve next.
func (root *fsNode) pick() *fsNode {
	n := root
	for n.cur == nil {
		if len(n.kids) == 0 {
			return nil
		}
		n = n.kids[0]
	}
	return n
}

// settle restores the heaps along leaf's path after its tenant was
// charged, dropping the leaf (and emptied cohorts) when it has no jobs.
func (leaf *fsNode) settle() {
	n := leaf
	drop := leaf.cur.head() == nil
	for n.parent != nil {
		p := n.parent
		if drop {
			heap.Remove(&p.kids, n.pos)
			drop = len(p.kids) == 0
		} else {
			heap.Fix(&p.kids, n.pos)
		}
		n = p
	}
}
