package quota

import "github.com/carnot-dc/carnot/internal/model"

// unlimited marks an absent borrowing or lending limit.
const unlimited = -1

type node struct {
	name     string
	parent   int // -1 for a root
	tenant   bool
	nominal  []int64
	borrow   []int64 // unlimited or the limit
	lend     []int64
	subtree  []int64
	usage    []int64
	children []int
}

// Tree is the quota tree for one facility. Models are indexed by the
// caller's model index.
type Tree struct {
	nodes   []node
	index   map[string]int // tenants
	cohorts map[string]int
	models  []string
	flat    []int64 // every node's usage, node after node
	from    *Tree   // the tree this one was last cloned from
}

// New builds the tree of fac. models lists GPU model names in the order
// the caller indexes them.
func New(fac *model.Facility, models []string) *Tree {
	t := &Tree{index: make(map[string]int), cohorts: make(map[string]int), models: models}
	add := func(name string, tenant bool, q map[string]model.Quota) {
		n := node{name: name, parent: -1, tenant: tenant}
		k := len(models)
		n.nominal, n.borrow, n.lend = make([]int64, k), make([]int64, k), make([]int64, k)
		n.subtree = make([]int64, k)
		for i, m := range models {
			qq, ok := q[m]
			n.borrow[i], n.lend[i] = unlimited, unlimited
			if !ok {
				continue
			}
			n.nominal[i] = int64(qq.Nominal)
			if qq.BorrowingLimit != nil {
				n.borrow[i] = int64(*qq.BorrowingLimit)
			}
			if qq.LendingLimit != nil {
				n.lend[i] = int64(*qq.LendingLimit)
			}
		}
		if tenant {
			t.index[name] = len(t.nodes)
		} else {
			t.cohorts[name] = len(t.nodes)
		}
		t.nodes = append(t.nodes, n)
	}
	for i := range fac.Cohorts {
		add(fac.Cohorts[i].Name, false, fac.Cohorts[i].Quota)
	}
	for i := range fac.Tenants {
		add(fac.Tenants[i].Name, true, fac.Tenants[i].Quota)
	}
	link := func(child int, parent string) {
		if parent == "" {
			return
		}
		p, ok := t.cohorts[parent]
		if !ok {
			return
		}
		t.nodes[child].parent = p
		t.nodes[p].children = append(t.nodes[p].children, child)
	}
	for i := range fac.Cohorts {
		link(t.cohorts[fac.Cohorts[i].Name], fac.Cohorts[i].Parent)
	}
	for i := range fac.Tenants {
		link(t.index[fac.Tenants[i].Name], fac.Tenants[i].Cohort)
	}
	k := len(models)
	t.flat = make([]int64, len(t.nodes)*k)
	for i := range t.nodes {
		t.nodes[i].usage = t.flat[i*k : (i+1)*k : (i+1)*k]
	}
	for i := range t.nodes {
		if t.nodes[i].parent < 0 {
			t.computeSubtree(i, 0)
		}
	}
	return t
}

// Len is the number of nodes (tenants and cohorts); a node's index is
// below it.
func (t *Tree) Len() int { return len(t.nodes) }

// Clone returns an independent copy: the same quotas and its own copy of
// the usage; everything else is shared, since only usage ever changes.
func (t *Tree) Clone() *Tree { return t.CloneInto(nil) }

// CloneInto is Clone reusing dst's memory (dst may be nil); dst must not
// be in use any more. A dst last cloned from t only has its usage copied.
func (t *Tree) CloneInto(dst *Tree) *Tree {
	if dst != nil && dst.from == t && len(dst.flat) == len(t.flat) {
		copy(dst.flat, t.flat)
		return dst
	}
	if dst == nil {
		dst = &Tree{}
	}
	nodes, usage := dst.nodes, dst.flat
	if cap(usage) < len(t.flat) {
		usage = make([]int64, len(t.flat))
	}
	usage = usage[:len(t.flat)]
	copy(usage, t.flat)
	*dst = *t
	dst.flat, dst.from = usage, t
	dst.nodes = append(nodes[:0], t.nodes...)
	k := len(t.models)
	for i := range dst.nodes {
		dst.nodes[i].usage = usage[i*k : (i+1)*k : (i+1)*k]
	}
	return dst
}

// computeSubtree fills subtree quotas bottom-up; depth guards against
// cycles that validation should already have rejected.
func (t *Tree) computeSubtree(i, depth int) {
	n := &t.nodes[i]
	copy(n.subtree, n.nominal)
	if depth > 64 {
		return
	}
	for _, c := range n.children {
		t.computeSubtree(c, depth+1)
		for m := range n.subtree {
			n.subtree[m] += t.nodes[c].subtree[m] - t.guaranteed(c, m)
		}
	}
}

// guaranteed is the quota node i keeps for itself and does not lend.
func (t *Tree) guaranteed(i, m int) int64 {
	n := &t.nodes[i]
	if n.lend[m] == unlimited {
		return 0
	}
	return max(0, n.subtree[m]-n.lend[m])
}

// Tenant returns the index of a tenant, or -1.
func (t *Tree) Tenant(name string) int {
	i, ok := t.index[name]
	if !ok || !t.nodes[i].tenant {
		return -1
	}
	return i
}

// Available is how many GPUs of model m tenant i may still use.
func (t *Tree) Available(i, m int) int64 {
	n := &t.nodes[i]
	if n.parent < 0 {
		return n.subtree[m] - n.usage[m]
	}
	g := t.guaranteed(i, m)
	local := max(0, g-n.usage[m])
	parent := t.Available(n.parent, m)
	if n.borrow[m] != unlimited {
		stored := n.subtree[m] - g
		used := max(0, n.usage[m]-g)
		parent = min(parent, stored-used+n.borrow[m])
	}
	return local + max(0, parent)
}

// Add changes tenant i's usage of model m by delta and propagates the
// change up the tree.
func (t *Tree) Add(i, m int, delta int64) {
	for delta != 0 && i >= 0 {
		n := &t.nodes[i]
		g := t.guaranteed(i, m)
		before := max(0, n.usage[m]-g)
		n.usage[m] += delta
		after := max(0, n.usage[m]-g)
		delta = after - before
		i = n.parent
	}
}

// Usage is tenant i's usage of model m.
func (t *Tree) Usage(i, m int) int64 { return t.nodes[i].usage[m] }

// Nominal is node i's nominal quota of model m.
func (t *Tree) Nominal(i, m int) int64 { return t.nodes[i].nominal[m] }

// Parent returns the name of node i's cohort, or "".
func (t *Tree) Parent(i int) string {
	p := t.nodes[i].parent
	if p < 0 {
		return ""
	}
	return t.nodes[p].name
}

// FromCohort is what tenant i could take from its cohort beyond its own
// unused guaranteed quota.
func (t *Tree) FromCohort(i, m int) int64 {
	n := &t.nodes[i]
	if n.parent < 0 {
		return 0
	}
	return t.Available(i, m) - max(0, t.guaranteed(i, m)-n.usage[m])
}

// Root returns the index of the root of node i's tree.
func (t *Tree) Root(i int) int {
	for d := 0; t.nodes[i].parent >= 0 && d < 64; d++ {
		i = t.nodes[i].parent
	}
	return i
}

// Borrowed is how far tenant i's usage of model m exceeds its nominal
// quota, and limit its borrowing limit (-1 when unlimited).
func (t *Tree) Borrowed(i, m int) (borrowed, limit int64) {
	n := &t.nodes[i]
	return max(0, n.usage[m]-n.nominal[m]), n.borrow[m]
}

// BorrowedBesides is how far the other tenants of tenant i's tree use
// model m beyond their nominal quotas, together: quota lent to them, of
// which some may be i's.
func (t *Tree) BorrowedBesides(i, m int) int64 {
	root, sum := t.Root(i), int64(0)
	for k := range t.nodes {
		if n := &t.nodes[k]; k != i && n.tenant && t.Root(k) == root {
			sum += max(0, n.usage[m]-n.nominal[m])
		}
	}
	return sum
}
