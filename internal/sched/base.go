package sched

import (
	"slices"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/place"
)

// base is the cluster view of the last snapshot a Queue's Quick saw: the
// facility with the snapshot's node states and running allocations, and
// nothing of any pass. Between passes usually only a few allocations
// change, so instead of building the view anew (every node, every
// allocation) Quick brings it up to date by difference, runs the pass
// under an undo log and rolls the pass back. Allocations are compared in
// the snapshot's order (drivers keep a stable order, so that is mostly a
// pointer comparison each); GPUs whose state changed, and GPUs claimed by
// a preemption (whether a claim counts depends on the queue), get their
// restrictions set anew (place.Cluster.SetState). A change of a node's
// condition, a node listed twice, or a snapshot whose allocations
// overlap rebuilds the view from scratch, as does a new facility.
//
// The view it gives equals a fresh build: allocations and releases are
// exact (integer watts and counts), released GPUs get their dirty marks
// back from the node states, and nodes whose holders changed are
// retallied. It also keeps the GPUs running work holds per tenant and
// model, which the pass charges to quotas and fair shares, and notes
// the holdings that changed for the victim index and the release list
// it keeps (see kept).
type base struct {
	static *place.Static
	c      *place.Cluster
	nodes  []model.NodeState // as applied, deep copy
	spare  []model.NodeState // the copy before, whose memory restate reuses
	// src is, per entry of nodes, the snapshot's GPU slice it was copied
	// from (its first element), so that an unchanged list is told by
	// identity; claimed lists the known nodes with a claim (when
	// claimedOK), found once per list
	src       []*model.GPUState
	claimed   []int
	claimedOK bool
	state     map[int]int // node index → its entry in nodes
	held      map[*model.Job]*holding
	list      []*holding // every holding, for finding the ones that ended
	// order is the holding of each allocation of the last synced
	// snapshot, by index (nil for an allocation without a job). Drivers
	// keep their allocations in a stable order, so diff walks the new
	// snapshot against it and needs the map only where they differ.
	order  []*holding
	next   []*holding // order being built, swapped with it
	byID   map[string]*holding
	onNode [][]*holding    // holders of each node (by index), for retallies
	excl   map[string]bool // node-exclusive tenants
	// fragile: the last snapshot lists a node twice, holds a GPU twice,
	// lists a job twice or two jobs with one ID, which only a fresh build
	// reads as Schedule does; the view is rebuilt until a snapshot is
	// clean again
	fragile bool
	kept    kept       // only while the view is not fragile: see kept
	seen    claimsSeen // claimants of each node as its last SetState read them
	// claims are what the kept node states say of claims, read again
	// when the states change (claimsStale)
	claims      nodeClaims
	claimsStale bool
	tally       tally
	gen         uint32

	rebuilds, diffs int // for tests
	claimSkips      int // claimed nodes whose restrictions sync left as they were (for tests)
	touched         []int
	jobsBuf         []*model.Job
}

// holding is what one job holds in the view.
type holding struct {
	job   *model.Job
	reps  []model.Placement // deep copy of its placements, all allocations
	nodes []int             // node index of each of reps, -1 if unknown
	gen   uint32            // the sync that last saw it
	idx   int               // its (last) allocation in the synced snapshot
	src   []model.Placement // the snapshot's slice it was last compared with
	pos   int               // its index in base.list
	ord   int               // its (last) index in base.order
	who   victimWho         // its job's tenant, root and priority, once whoOK
	whoOK bool
	// what the kept victim index and releases read of the allocation
	// besides its placements (see kept), and gone once it has ended
	term             bool
	evictAt, started model.Time
	gone             bool
	vat              []vslot    // its entries in the kept victim index
	rIn              bool       // it has a kept release, at rAt
	rAt              model.Time // its kept release's key with its job ID
	vmark, rmark     uint32     // the last application of notes that met it
}

// add registers a new holding.
func (b *base) add(h *holding) {
	h.pos = len(b.list)
	b.list = append(b.list, h)
	b.held[h.job] = h
	b.byID[h.job.ID] = h
}

// drop forgets a holding that has been released.
func (b *base) drop(h *holding) {
	last := b.list[len(b.list)-1]
	b.list[h.pos], last.pos = last, h.pos
	b.list[len(b.list)-1] = nil
	b.list = b.list[:len(b.list)-1]
	delete(b.held, h.job)
	if b.byID[h.job.ID] == h {
		delete(b.byID, h.job.ID)
	}
}

// sameSlice reports whether two placement lists are the same slice:
// an allocation handed to an earlier pass that has not been replaced.
func sameSlice(a, b []model.Placement) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// sync returns the view of snap, up to date, and its tally.
func (b *base) sync(static *place.Static, snap *model.Snapshot, pendingTenant func(string) (string, bool)) (*place.Cluster, tally) {
	if b.c == nil || b.static != static || b.fragile {
		b.rebuild(static, snap, pendingTenant)
	} else if changed, claimed, ok := b.restate(snap.Nodes); !ok || !b.diff(snap) {
		b.rebuild(static, snap, pendingTenant)
	} else {
		b.setStates(changed, claimed, pendingTenant)
	}
	if b.claimsStale {
		clear(b.claims.nodes)
		clear(b.claims.dirty)
		b.claims.read(b.nodes, b.c.NodeIndex)
		b.claimsStale = false
	}
	b.tally.claims = &b.claims
	snapRunning := snap.Running
	b.tally.order = b.order
	b.tally.running = func(id string) *model.Allocation {
		if h := b.byID[id]; h != nil && h.idx < len(snapRunning) {
			return &snapRunning[h.idx]
		}
		return nil
	}
	return b.c, b.tally
}

// diff applies the changes of snap.Running; false means the view must be
// rebuilt (overlapping allocations).
func (b *base) diff(snap *model.Snapshot) bool {
	b.diffs++
	b.gen++
	b.touched = b.touched[:0]
	clear(b.tally.waitingFor)
	b.tally.terminating = b.tally.terminating[:0]
	next := b.next[:0]
	defer func() { b.order, b.next = next, b.order[:0] }() // the view's order is next's
	k := 0                                                 // cursor into b.order: the holding expected next
	multi, lastOrd := false, -1                            // a holding met twice; the last one's place before
	for i := range snap.Running {
		a := &snap.Running[i]
		if a.Job == nil {
			next = append(next, nil)
			continue
		}
		b.tally.noteWaiting(a)
		// The fast path: the same job, unchanged, where the last snapshot
		// had it (or after holdings that have left). It is the case of
		// the switch below that keeps a holding as it is.
		if k < len(b.order) {
			if h := b.order[k]; h != nil && h.job == a.Job && h.gen != b.gen && sameSlice(h.src, a.Replicas) {
				h.gen, h.idx, h.ord = b.gen, i, len(next)
				next = append(next, h)
				lastOrd = k
				k++
				if !h.sees(a) {
					b.observe(h, a)
				}
				continue
			}
		}
		h := b.held[a.Job]
		if h != nil && h.ord >= k && h.ord < len(b.order) && b.order[h.ord] == h {
			k = h.ord + 1 // the ones in between have left or moved
		}
		if h != nil && h.gen != b.gen {
			if h.ord < lastOrd { // the kept victim index is in the old order
				b.kept.vOK = false
			}
			lastOrd = h.ord
		}
		if h != nil {
			h.ord = len(next)
		}
		switch {
		case h != nil && h.gen == b.gen: // another allocation of the same job
			h.src = nil
			multi = true
		case h != nil && (sameSlice(h.src, a.Replicas) || samePlacements(h.reps, a.Replicas)):
			h.gen, h.idx, h.src = b.gen, i, a.Replicas
			next = append(next, h)
			if !h.sees(a) {
				b.observe(h, a)
			}
			continue
		case h != nil:
			b.release(h)
			h.reps, h.nodes = h.reps[:0], h.nodes[:0]
		default:
			if old := b.byID[a.Job.ID]; old != nil && old.job != a.Job { // same ID, new job value
				if old.gen == b.gen {
					return false // two job values with one ID in one snapshot
				}
				b.release(old)
				b.drop(old)
				b.gone(old)
			}
			h = &holding{job: a.Job, ord: len(next)}
			b.add(h)
		}
		next = append(next, h)
		if h.gen != b.gen {
			h.src = a.Replicas
		}
		h.gen, h.idx = b.gen, i
		if !b.alloc(h, a.Replicas) {
			return false
		}
		b.observe(h, a)
	}
	for k := 0; k < len(b.list); {
		if h := b.list[k]; h.gen != b.gen {
			b.release(h)
			b.drop(h) // moves the last holding to k
			b.gone(h)
			continue
		}
		k++
	}
	if multi || len(b.byID) != len(b.list) {
		b.kept.reset()
		b.fragile = true // see rebuild
	}
	for _, n := range b.touched {
		b.c.Retally(n, b.jobsOn(n), b.exclTenant)
	}
	return true
}

func (b *base) exclTenant(t string) bool { return b.excl[t] }

// jobsOn lists the jobs holding node n, in a buffer reused by the next
// call (Retally reads it at once).
func (b *base) jobsOn(n int) []*model.Job {
	js := b.jobsBuf[:0]
	defer func() { b.jobsBuf = js[:0] }()
	for _, h := range b.onNode[n] {
		for _, m := range h.nodes {
			if m == n { // one entry per placement, as the view counts them
				js = append(js, h.job)
			}
		}
	}
	return js
}

func (b *base) rebuild(static *place.Static, snap *model.Snapshot, pendingTenant func(string) (string, bool)) {
	fac := snap.Facility
	b.rebuilds++
	b.static = static
	b.c = place.NewFrom(static, snap, pendingTenant)
	b.nodes = b.nodes[:0]
	b.state = make(map[int]int, len(snap.Nodes))
	b.fragile, b.claimedOK = false, false
	b.src = b.src[:0]
	for _, st := range snap.Nodes {
		b.src = append(b.src, gpuData(st.GPUs))
		st.GPUs = slices.Clone(st.GPUs)
		if n, ok := b.c.NodeIndex[st.Node]; ok {
			_, twice := b.state[n]
			b.fragile = b.fragile || twice
			b.state[n] = len(b.nodes)
		}
		b.nodes = append(b.nodes, st)
	}
	b.excl = make(map[string]bool, len(fac.Tenants))
	for i := range fac.Tenants { // a name listed twice: the last entry counts, as in a fresh build
		b.excl[fac.Tenants[i].Name] = fac.Tenants[i].Exclusive == model.ExclusiveNode
	}
	b.held = make(map[*model.Job]*holding, len(snap.Running))
	b.byID = make(map[string]*holding, len(snap.Running))
	b.list = b.list[:0]
	b.order = b.order[:0]
	b.onNode = make([][]*holding, len(b.c.Nodes))
	b.tally = newTally(fac, len(b.c.Models))
	b.gen++
	b.kept.reset()
	b.seen.reset()
	b.claimsStale = true
	if b.claims.nodes == nil {
		b.claims = nodeClaims{nodes: map[string][]int{}, dirty: map[string]int{}}
	}
	multi := false
	for i := range snap.Running {
		a := &snap.Running[i]
		if a.Job == nil {
			b.order = append(b.order, nil)
			continue
		}
		b.tally.noteWaiting(a)
		h := b.held[a.Job]
		if h == nil {
			h = &holding{job: a.Job, src: a.Replicas}
			b.add(h)
		} else {
			h.src = nil // two allocations: compare by content
			multi = true
		}
		h.gen, h.idx, h.ord = b.gen, i, len(b.order)
		b.order = append(b.order, h)
		b.record(h, a.Replicas)
		h.term, h.evictAt, h.started = a.Terminating, a.EvictAt, a.Started
	}
	if multi || len(b.byID) != len(b.list) {
		// A job listed twice, or two jobs with one ID: the holdings by
		// ID cannot follow such a snapshot's changes (one leaving would
		// take the other's entry), so the view is rebuilt until it is
		// clean, as for a node listed twice.
		b.kept.reset()
		b.fragile = true
	}
	b.fragile = b.fragile || overlaps(b.c, snap.Running)
}

// overlaps reports whether two placements of snap's running allocations
// hold the same GPU.
func overlaps(c *place.Cluster, running []model.Allocation) bool {
	held := map[int]uint64{}
	for i := range running {
		for _, r := range running[i].Replicas {
			n, ok := c.NodeIndex[r.Node]
			if !ok {
				continue
			}
			for _, g := range r.GPUs {
				if g < 0 || g >= 64 {
					continue
				}
				if held[n]&(1<<g) != 0 {
					return true
				}
				held[n] |= 1 << g
			}
		}
	}
	return false
}

// record adds placements to h, its nodes' holders and the tally, without
// touching the view (rebuild has them in it already).
func (b *base) record(h *holding, reps []model.Placement) {
	o := b.tally.ordinal(h.job.Tenant)
	total := 0
	for _, r := range reps {
		total += len(r.GPUs)
	}
	gpus := make([]int, 0, total) // one array for every placement's copy
	h.reps, h.nodes = slices.Grow(h.reps, len(reps)), slices.Grow(h.nodes, len(reps))
	for _, r := range reps {
		n, ok := b.c.NodeIndex[r.Node]
		if !ok {
			n = -1
		}
		if r.GPUs != nil {
			from := len(gpus)
			gpus = append(gpus, r.GPUs...)
			r.GPUs = gpus[from:len(gpus):len(gpus)]
		}
		h.reps = append(h.reps, r)
		h.nodes = append(h.nodes, n)
		if n >= 0 {
			if !slices.Contains(b.onNode[n], h) {
				b.onNode[n] = append(b.onNode[n], h)
			}
			b.tally.add(o, b.c.Nodes[n].Model, len(r.GPUs))
			b.tally.noteCap(b.c, n, r.PowerCapW, 1)
		}
	}
}

// alloc adds a job's placements to the view; it reports false when a GPU
// is already held (an overlapping snapshot, which only a rebuild
// reproduces).
func (b *base) alloc(h *holding, reps []model.Placement) bool {
	for _, r := range reps {
		n, ok := b.c.NodeIndex[r.Node]
		if !ok {
			continue
		}
		nd := &b.c.Nodes[n]
		for _, g := range r.GPUs {
			if g >= 0 && g < nd.NGPU && nd.Busy&(1<<g) != 0 {
				return false
			}
		}
		b.c.Alloc(n, r.GPUs, h.job, r.PowerCapW, b.excl[h.job.Tenant])
		b.touched = append(b.touched, n)
	}
	b.record(h, reps)
	return true
}

// release takes a job's placements out of the view.
func (b *base) release(h *holding) {
	o := b.tally.ordinal(h.job.Tenant)
	for k, r := range h.reps {
		n := h.nodes[k]
		if n < 0 {
			continue
		}
		b.c.Release(n, r.GPUs, h.job, r.PowerCapW)
		b.touched = append(b.touched, n)
		b.tally.add(o, b.c.Nodes[n].Model, -len(r.GPUs))
		b.tally.noteCap(b.c, n, r.PowerCapW, -1)
		if i, ok := b.state[n]; ok { // released GPUs are dirty again if their state says so
			for _, g := range r.GPUs {
				if g >= 0 && g < len(b.nodes[i].GPUs) {
					b.c.Restrict(n, g, b.nodes[i].GPUs[g])
				}
			}
		}
		hs := b.onNode[n]
		if i := slices.Index(hs, h); i >= 0 {
			b.onNode[n] = slices.Delete(hs, i, i+1)
		}
	}
}

// restate brings the kept node states up to the snapshot's and returns
// the nodes whose GPU restrictions may have to be set anew: those whose
// GPU states changed, and those with unchanged claims (whether a claim
// counts depends on the queue). False means the view must be rebuilt: a
// node's condition changed, or a node is listed twice.
func (b *base) restate(nodes []model.NodeState) (changed, claimedOnly []int, ok bool) {
	if b.sameNodes(nodes) {
		if !b.claimedOK { // the known claimed nodes, found once per list
			b.claimedOK, b.claimed = true, b.claimed[:0]
			for i := range b.nodes {
				if n, ok := b.c.NodeIndex[b.nodes[i].Node]; ok && claimed(b.nodes[i:i+1]) {
					b.claimed = append(b.claimed, n)
				}
			}
		}
		return nil, b.claimed, true
	}
	old := make(map[string]*model.NodeState, len(b.nodes))
	for i := range b.nodes {
		old[b.nodes[i].Node] = &b.nodes[i]
	}
	up := func(c model.NodeCondition) model.NodeCondition {
		if c == "" {
			return model.NodeUp
		}
		return c
	}
	seen := make(map[string]bool, len(nodes))
	for i := range nodes {
		st := &nodes[i]
		if seen[st.Node] {
			return nil, nil, false
		}
		seen[st.Node] = true
		n, known := b.c.NodeIndex[st.Node]
		o := old[st.Node]
		cond := model.NodeUp
		var gpus []model.GPUState
		if o != nil {
			cond, gpus = up(o.Condition), o.GPUs
		}
		if up(st.Condition) != cond {
			return nil, nil, false
		}
		switch {
		case !known:
		case !slices.Equal(gpus, st.GPUs):
			changed = append(changed, n)
		case claimed(nodes[i : i+1]):
			claimedOnly = append(claimedOnly, n)
		}
	}
	for i := range b.nodes {
		o := &b.nodes[i]
		if seen[o.Node] {
			continue
		}
		if up(o.Condition) != model.NodeUp {
			return nil, nil, false
		}
		if n, ok := b.c.NodeIndex[o.Node]; ok && slices.ContainsFunc(o.GPUs, func(g model.GPUState) bool { return g != model.GPUState{} }) {
			changed = append(changed, n)
		}
	}
	// Copy the states into the spare buffer (the one before last, whose
	// GPU slices nothing reads any more) and keep the last as the spare.
	next := b.spare[:0]
	clear(b.state)
	b.src = b.src[:0]
	for i, st := range nodes {
		var buf []model.GPUState
		if i < len(b.spare) {
			buf = b.spare[i].GPUs[:0] // read before next[i] overwrites it
		}
		b.src = append(b.src, gpuData(st.GPUs))
		st.GPUs = append(buf, st.GPUs...)
		if n, ok := b.c.NodeIndex[st.Node]; ok {
			b.state[n] = len(next)
		}
		next = append(next, st)
	}
	b.nodes, b.spare = next, b.nodes
	b.claimsStale, b.claimedOK = true, false
	return changed, claimedOnly, true
}

func samePlacements(a, b []model.Placement) bool {
	return slices.EqualFunc(a, b, func(x, y model.Placement) bool {
		return x.Node == y.Node && x.PowerCapW == y.PowerCapW && slices.Equal(x.GPUs, y.GPUs)
	})
}

// sameNodes reports whether the snapshot lists the node states the view
// keeps. A state whose GPUs is the very slice the kept copy was made
// from counts as unchanged without comparing its GPUs: drivers never
// write into a slice they have handed to Quick (see Quick).
func (b *base) sameNodes(nodes []model.NodeState) bool {
	if len(nodes) != len(b.nodes) {
		return false
	}
	for i := range nodes {
		x, y := &b.nodes[i], &nodes[i]
		if x.Node != y.Node || x.Condition != y.Condition || len(x.GPUs) != len(y.GPUs) {
			return false
		}
		if p := gpuData(y.GPUs); p != nil && i < len(b.src) && b.src[i] == p {
			continue
		}
		if !slices.Equal(x.GPUs, y.GPUs) {
			return false
		}
	}
	return true
}

// gpuData is the first element of a node's GPU states, nil for none.
func gpuData(gpus []model.GPUState) *model.GPUState {
	if len(gpus) == 0 {
		return nil
	}
	return &gpus[0]
}

// claimed reports whether a GPU is claimed for a preemption's
// beneficiary: whether the claim counts depends on the queue, so such
// snapshots are built afresh.
func claimed(nodes []model.NodeState) bool {
	for i := range nodes {
		for _, g := range nodes[i].GPUs {
			if g.ClaimedBy != "" {
				return true
			}
		}
	}
	return false
}
