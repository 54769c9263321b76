package place

import (
	"cmp"
	"math/bits"
	"slices"
)

// Slot is one replica's node and GPUs.
type Slot struct {
	Node int
	GPUs []int
}

// Result is the outcome of Find. On failure Slots is nil and the other
// fields say why.
type Result struct {
	Slots []Slot
	// Fit is how many replicas fit on eligible nodes in total.
	Fit int
	// FreeGPUs is the usable free GPUs on eligible nodes.
	FreeGPUs int
	// Largest is the most replicas that fit in one group at the required
	// level, and LargestGroup its name.
	Largest      int
	LargestGroup string
	// Rejected counts nodes of the pool model per filter that rejected them.
	Rejected Rejections
	// DirtyOther is free GPUs on eligible nodes left dirty by another
	// tenant and not yet scrubbed.
	DirtyOther int
	// Down is free GPUs on eligible nodes that are down
	// (model.GPUState.Down).
	Down int
	// Claimed is free GPUs on eligible nodes that a preemption freed for
	// another job (ClaimedBy, the first such job).
	Claimed   int
	ClaimedBy string
	// block is what PowerBlock answers for the request (see blocker),
	// when blockKnown: diagnose finds it in its own walk of the nodes.
	block      int32
	blockKnown bool
}

// Blocker is what diagnose found PowerBlock would answer (a container
// number, see blocker; -1 for none) and whether it looked: for checks
// that two results are the same.
func (r *Result) Blocker() (id int, known bool) { return int(r.block), r.blockKnown }

// OK reports whether a placement was found.
func (r *Result) OK() bool { return r.Slots != nil }

type cand struct {
	node int32
	cap  int32
}

// Find searches room for r without changing the cluster.
func (c *Cluster) Find(r *Request) Result {
	if r.Replicas <= 0 {
		return Result{Slots: []Slot{}}
	}
	if r.SameNode && r.Replicas > 1 {
		return c.findSameNode(r)
	}
	if r.Replicas == 1 {
		if n := c.findOne(r); n >= 0 {
			if r.Exists {
				return Result{Slots: []Slot{}}
			}
			return Result{Slots: []Slot{{Node: n, GPUs: c.pickGPUs(n, r, r.GPUs)}}}
		}
		if r.Probe {
			return Result{}
		}
		return c.diagnose(r)
	}
	return c.findGang(r)
}

// findOne is best fit for a single replica: the eligible node with the
// fewest free GPUs that still fits, lowest index on ties.
func (c *Cluster) findOne(r *Request) int {
	if r.GPUs <= 0 || r.MinWattsPerReplica <= 0 && len(c.stranded) > 0 {
		// Without GPUs, or without power to find (a power reason's
		// probe), a stranded node is as good as any: the buckets leave
		// stranded nodes out.
		return c.findOneScan(r)
	}
	for k := r.GPUs; k <= 64; k++ {
		best := -1
		for p := range c.Pools {
			pool := &c.Pools[p]
			if k >= len(pool.Buckets) || !c.poolServes(pool, r) {
				continue
			}
			c.forEachInBucket(p, k, func(n int) bool {
				f := c.nodeFilter(n, r)
				if f == powerFilter {
					c.maybeStrand(n)
				}
				if f == passed && c.capacity(n, r) >= 1 {
					if best < 0 || n < best {
						best = n
					}
					return true
				}
				return false
			})
		}
		if best >= 0 {
			return best
		}
	}
	return -1
}

// findOneScan is best fit without the buckets, for replicas without
// GPUs or power (which stranded nodes can still take).
func (c *Cluster) findOneScan(r *Request) int {
	best := -1
	for p := range c.Pools {
		pool := &c.Pools[p]
		if pool.Model != r.Model || (r.Sites != nil && !r.Sites[pool.Site]) {
			continue
		}
		for _, n32 := range pool.Nodes {
			n := int(n32)
			if c.nodeFilter(n, r) != passed || c.capacity(n, r) < 1 {
				continue
			}
			if best < 0 || c.Nodes[n].Free < c.Nodes[best].Free || (c.Nodes[n].Free == c.Nodes[best].Free && n < best) {
				best = n
			}
		}
	}
	return best
}

// maybeStrand takes node n out of the buckets when its site, hall or
// rack cannot power one more GPU of its model at the lowest cap.
func (c *Cluster) maybeStrand(n int) {
	nd := &c.Nodes[n]
	if nd.Model < 0 || nd.Model >= len(c.MinGPUWatts) || nd.Stranded {
		return
	}
	w := c.MinGPUWatts[nd.Model]
	if w <= 0 || c.powerOK(nd, w, false) {
		return
	}
	c.saveNode(n)
	c.setBucket(n, false)
	nd.Stranded = true
	c.noteStranded(n)
}

// noteStranded adds node n, just stranded, to the list BeginFuture
// reads. The list is rebuilt from the nodes when stale entries (nodes a
// release brought back) make it long.
func (c *Cluster) noteStranded(n int) {
	if len(c.stranded) >= 2*len(c.Nodes)+64 {
		c.stranded = c.stranded[:0]
		for i := range c.Nodes {
			if c.Nodes[i].Stranded && i != n {
				c.stranded = append(c.stranded, int32(i))
			}
		}
	}
	c.stranded = append(c.stranded, int32(n))
}

// gangBound is at least the replicas of r (GPUs > 0) the candidates
// could take, read off the buckets without a walk: a node in bucket k
// takes at most k/GPUs, a node in none (down, stranded, held by an
// exclusive job) at most MaxGPUs/GPUs.
func (c *Cluster) gangBound(r *Request) int {
	bound := 0
	for p := range c.Pools {
		pool := &c.Pools[p]
		if !c.poolServes(pool, r) {
			continue
		}
		top := min(pool.MaxGPUs, len(pool.Buckets)-1)
		bucketed := 0
		for k := 0; k <= top; k++ {
			n := 0
			for _, w := range pool.Buckets[k] {
				n += bits.OnesCount64(w)
			}
			bucketed += n
			bound += n * (k / r.GPUs)
		}
		bound += (len(pool.Nodes) - bucketed) * (pool.MaxGPUs / r.GPUs)
	}
	return bound
}

// candidates lists eligible nodes with their capacity, in index order.
// Pools outside r's sites are skipped (the sovereignty filter rejects
// all their nodes) and, for GPU replicas, so are nodes known to have no
// free GPU (bucket 0), which can neither take a replica nor add usable
// GPUs. diagnose counts rejections.
func (c *Cluster) candidates(r *Request) (out []cand, fit, free int) {
	if r.GPUs > 0 {
		return c.candidatesFree(r)
	}
	out = c.groupSums().cands[:0]
	defer func() { c.sums.cands = out }()
	for p := range c.Pools {
		pool := &c.Pools[p]
		if pool.Model != r.Model || (r.Sites != nil && !r.Sites[pool.Site]) {
			continue
		}
		for _, n := range pool.Nodes {
			if c.nodeFilter(int(n), r) == passed {
				out = c.addCand(out, int(n), r, &fit, &free)
			}
		}
	}
	sortCands(out)
	return out, fit, free
}

// addCand counts what eligible node n offers r: its usable GPUs in free,
// and, if it can take a replica, its capacity in fit and the node in out.
func (c *Cluster) addCand(out []cand, n int, r *Request, fit, free *int) []cand {
	u := c.UsableBy(n, r.Tenant, r.Claim)
	k := c.capacityOf(n, r, u)
	*free += u
	if k > 0 {
		out = append(out, cand{node: int32(n), cap: int32(k)})
		*fit += k
	}
	return out
}

// candidatesFree is candidates without rejections for GPU replicas, from
// the pools that serve r.
func (c *Cluster) candidatesFree(r *Request) (out []cand, fit, free int) {
	out = c.groupSums().cands[:0]
	defer func() { c.sums.cands = out }()
	for p := range c.Pools {
		pool := &c.Pools[p]
		if !c.poolServes(pool, r) {
			continue
		}
		for w, full := range pool.Buckets[0] {
			word := ^full
			if rest := len(pool.Nodes) - w*64; rest < 64 {
				word &= 1<<rest - 1
			}
			for word != 0 {
				n := int(pool.Nodes[w*64+bits.TrailingZeros64(word)])
				word &= word - 1
				if c.poolNodeOK(n, r) {
					out = c.addCand(out, n, r, &fit, &free)
				}
			}
		}
	}
	sortCands(out)
	return out, fit, free
}

// poolServes reports whether pool may hold a replica of r as far as the
// pool decides: its model is r's, its site one r allows and able to
// power a replica (else the power filter rejects each of its nodes).
func (c *Cluster) poolServes(pool *Pool, r *Request) bool {
	return pool.Model == r.Model && (r.Sites == nil || r.Sites[pool.Site]) &&
		c.sitePowerOK(pool.Site, r.MinWattsPerReplica, r.Constrained)
}

// poolNodeOK is nodeFilter(n, r) == passed for a node of a pool that
// serves r: what is left to check is the node's condition, whether r
// avoids it, exclusivity, and the power of its hall and rack.
func (c *Cluster) poolNodeOK(n int, r *Request) bool {
	nd := &c.Nodes[n]
	return nd.Up && !r.avoids(n) && exclusiveOK(nd, r) && c.hallRackPowerOK(nd, r.MinWattsPerReplica, r.Constrained)
}

// sortCands puts candidates in node order; pools list their nodes in
// order and usually follow each other, so it is mostly a check.
func sortCands(cs []cand) {
	if !slices.IsSortedFunc(cs, cmpCand) {
		slices.SortFunc(cs, cmpCand)
	}
}

func cmpCand(a, b cand) int { return int(a.node) - int(b.node) }

func (c *Cluster) diagnose(r *Request) Result {
	var res Result
	out := c.groupSums().cands[:0]
	defer func() { c.sums.cands = out }()
	// With power to find, the walk also counts what PowerBlock would:
	// the nodes each container keeps out.
	var b *blockCount
	if c.PowerOn && r.MinWattsPerReplica > 0 {
		b = c.blockCounter()
		defer b.reset()
	}
	for p := range c.Pools {
		pool := &c.Pools[p]
		if pool.Model != r.Model {
			continue
		}
		if r.Sites != nil && !r.Sites[pool.Site] {
			// what nodeFilter says of every node of the pool
			res.Rejected[sovereigntyFilter] += len(pool.Nodes) - pool.Down
			res.Rejected[nodeStateFilter] += pool.Down
			continue
		}
		if b != nil && c.siteShort(pool.Site, r) {
			// No node of the pool passes; the site keeps out those the
			// power filter rejects and those up and exclusive-compatible
			// that r avoids.
			k := 0
			for _, n := range pool.Nodes {
				f := c.shortFilter(int(n), r)
				res.Rejected.add(f)
				if f == powerFilter || f == failedStartFilter && exclusiveOK(&c.Nodes[n], r) {
					k++
				}
			}
			if k > 0 {
				b.addN(pool.Site, k)
			}
			continue
		}
		for _, n := range pool.Nodes {
			if f := c.nodeFilter(int(n), r); f != passed {
				res.Rejected.add(f)
				if f == powerFilter && b != nil { // its hall or rack keeps it out
					b.addNode(c, int(n), r)
				}
				continue
			}
			out = c.addCand(out, int(n), r, &res.Fit, &res.FreeGPUs)
			if c.anyDirty && c.Nodes[n].Dirty > 0 {
				c.countRestricted(int(n), r, &res)
			}
		}
	}
	sortCands(out)
	c.largest(r, out, &res)
	if b != nil {
		res.block, res.blockKnown = int32(b.best()), true
	}
	return res
}

// countRestricted counts the free GPUs of eligible node n that r may not
// use: down, claimed for another job, or dirty from another tenant.
func (c *Cluster) countRestricted(n int, r *Request, res *Result) {
	nd := &c.Nodes[n]
	for g := 0; g < nd.NGPU; g++ {
		o := c.dirty[nd.dirtyOff+g]
		if nd.Busy&(1<<g) != 0 || o == "" || o == r.Tenant || r.Claim != "" && o == r.Claim {
			continue
		}
		if o == GPUDown {
			res.Down++
		} else if job := c.ClaimOf(n, g); job != "" {
			res.Claimed++
			if res.ClaimedBy == "" {
				res.ClaimedBy = job
			}
		} else {
			res.DirtyOther++
		}
	}
}

// largest fills the biggest group at the required level (or the node
// level for single replicas).
func (c *Cluster) largest(r *Request, cands []cand, res *Result) {
	if r.Replicas == 1 || r.Level >= NumLevels {
		for _, x := range cands {
			if int(x.cap) > res.Largest {
				res.Largest, res.LargestGroup = int(x.cap), c.Nodes[x.node].Spec.Name
			}
		}
		return
	}
	sums := map[int32]int{}
	for _, x := range cands {
		sums[c.Nodes[x.node].Group[r.Level]] += int(x.cap)
	}
	best := int32(-1)
	for g, s := range sums {
		if s > res.Largest || (s == res.Largest && g < best) {
			res.Largest, best = s, g
		}
	}
	if best >= 0 {
		res.LargestGroup = c.GroupNames[r.Level][best]
	}
}

// findGang packs a gang into the smallest group that holds it: among
// the groups of every allowed level with room for all replicas, the one
// with the fewest nodes, then the least spare capacity (best fit), then
// the tightest level, then the lowest index. A required level allows only
// levels whose groups nest inside one group of that level. A gang whose
// topology is "any" may, as a last resort, spread across sites.
func (c *Cluster) findGang(r *Request) Result {
	if r.GPUs > 0 && c.gangBound(r) < r.Replicas {
		// the candidates could not take them: no need to list them
		if r.Probe {
			return Result{}
		}
		return c.diagnose(r)
	}
	cands, fit, free := c.candidates(r)
	if fit < r.Replicas {
		if r.Probe {
			return Result{}
		}
		return c.diagnose(r)
	}
	gs := c.groupSums()
	defer gs.reset()
	sums := &gs.sum
	// Each candidate's capacity is added to its group at every level in
	// one read of the node; a group's sum is 0 until its first candidate
	// (a candidate has room for a replica).
	for _, x := range cands {
		grp, k := &c.Nodes[x.node].Group, int(x.cap)
		for l := range grp {
			g := grp[l]
			if sums[l][g] == 0 {
				gs.touched[l] = append(gs.touched[l], g)
			}
			sums[l][g] += k
		}
	}
	bestL, best, bestSize, bestSum := -1, int32(-1), 0, 0
	for l := 0; l < NumLevels; l++ {
		if r.Required && r.Level < NumLevels && !c.Nested[l][r.Level] {
			continue
		}
		for _, g := range gs.touched[l] {
			s := sums[l][g]
			if s < r.Replicas {
				continue
			}
			size := c.GroupSize[l][g]
			better := bestL < 0 || size < bestSize ||
				(size == bestSize && (s < bestSum || (s == bestSum && (l < bestL || (l == bestL && g < best)))))
			if better {
				bestL, best, bestSize, bestSum = l, g, size, s
			}
		}
	}
	// a group fits, or, as a last resort, all the candidates (bestL < 0)
	if bestL >= 0 || !r.Required && r.Level >= NumLevels {
		if r.Exists {
			return Result{Slots: []Slot{}}
		}
		return Result{Slots: c.fill(r, cands, bestL, best, sums)}
	}
	res := Result{Fit: fit, FreeGPUs: free}
	if !r.Probe {
		c.largest(r, cands, &res)
	}
	return res
}

// fill takes replicas from the candidates in group g of level l (all
// candidates when l < 0): nodes of the NVLink domain with the most room
// first, then the nodes with the fewest usable GPUs (best fit).
func (c *Cluster) fill(r *Request, cands []cand, l int, g int32, sums *[NumLevels][]int) []Slot {
	gs := c.groupSums()
	in := gs.in[:0]
	defer func() { gs.in = in[:0] }()
	for _, x := range cands {
		if l < 0 || c.Nodes[x.node].Group[l] == g {
			nd := &c.Nodes[x.node]
			in = append(in, keyedCand{cand: x, domain: sums[0][nd.Group[0]], usable: c.UsableBy(int(x.node), r.Tenant, r.Claim)})
		}
	}
	// The node index decides ties, so the order is total: any sort gives it.
	slices.SortFunc(in, func(a, b keyedCand) int {
		if a.domain != b.domain {
			return cmp.Compare(b.domain, a.domain)
		}
		if a.usable != b.usable {
			return cmp.Compare(a.usable, b.usable)
		}
		return cmp.Compare(a.node, b.node)
	})
	slots := make([]Slot, 0, r.Replicas)
	gpus := make([]int, 0, r.Replicas*r.GPUs) // one array for every slot's GPUs
	for _, x := range in {
		n := int(x.node)
		take := min(int(x.cap), r.Replicas-len(slots))
		from := len(gpus)
		gpus = c.appendGPUs(gpus, n, r, take*r.GPUs)
		for k := 0; k < take; k++ {
			lo, hi := from+k*r.GPUs, from+(k+1)*r.GPUs
			slots = append(slots, Slot{Node: n, GPUs: gpus[lo:hi:hi]})
		}
		if len(slots) == r.Replicas {
			break
		}
	}
	return slots
}

// keyedCand is a candidate with fill's sort keys: the free capacity of
// its NVLink domain and its usable GPUs.
type keyedCand struct {
	cand
	domain, usable int
}

// findSameNode puts every replica on one node: the eligible node with
// room for all of them and the fewest usable GPUs (best fit).
func (c *Cluster) findSameNode(r *Request) Result {
	cands, fit, free := c.candidates(r)
	best := -1
	for _, x := range cands {
		if int(x.cap) < r.Replicas {
			continue
		}
		if best < 0 || c.UsableBy(int(x.node), r.Tenant, r.Claim) < c.UsableBy(best, r.Tenant, r.Claim) {
			best = int(x.node)
		}
	}
	if best < 0 {
		res := Result{Fit: fit, FreeGPUs: free}
		for _, x := range cands {
			if int(x.cap) > res.Largest {
				res.Largest, res.LargestGroup = int(x.cap), c.Nodes[x.node].Spec.Name
			}
		}
		return res
	}
	if r.Exists {
		return Result{Slots: []Slot{}}
	}
	gpus := c.pickGPUs(best, r, r.Replicas*r.GPUs)
	slots := make([]Slot, r.Replicas)
	for k := range slots {
		slots[k] = Slot{Node: best, GPUs: gpus[k*r.GPUs : (k+1)*r.GPUs]}
	}
	return Result{Slots: slots}
}

// groupSums is Find's working memory: for findGang, per level, the
// capacity of the candidates in each group and the groups it has
// touched; the candidate lists; and PowerBlock's counts.
type groupSums struct {
	sum     [NumLevels][]int
	touched [NumLevels][]int32
	// cands holds the last candidate list (valid until the next one is
	// made); in is fill's working list
	cands []cand
	in    []keyedCand
	// block counts the nodes each container keeps out (PowerBlock)
	block blockCount
}

// groupSums returns the cluster's own working memory for Find (a copy of
// a cluster gets its own).
func (c *Cluster) groupSums() *groupSums {
	if c.sums == nil {
		c.sums = &groupSums{}
		for l := range c.sums.sum {
			c.sums.sum[l] = make([]int, len(c.GroupNames[l]))
		}
	}
	return c.sums
}

// reset zeroes what the last use touched.
func (gs *groupSums) reset() {
	for l := range gs.touched {
		for _, g := range gs.touched[l] {
			gs.sum[l][g] = 0
		}
		gs.touched[l] = gs.touched[l][:0]
	}
}
