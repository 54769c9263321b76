package place

// powerOK: the node's site, hall and rack can take at least w more watts.
func (c *Cluster) powerOK(nd *Node, w float64, constrained bool) bool {
	if !c.PowerOn || w <= 0 {
		return true
	}
	return (nd.Site < 0 || c.Sites[nd.Site].HeadroomFor(constrained) >= w) && c.hallRackPowerOK(nd, w, constrained)
}

// hallRackPowerOK: the node's hall and rack can take at least w more
// watts (its site being known to).
func (c *Cluster) hallRackPowerOK(nd *Node, w float64, constrained bool) bool {
	if !c.PowerOn || w <= 0 {
		return true
	}
	return (nd.Hall < 0 || c.Halls[nd.Hall].HeadroomFor(constrained) >= w) &&
		(nd.Rack < 0 || c.Racks[nd.Rack].HeadroomFor(constrained) >= w)
}

// sitePowerOK: site s can take at least w more watts.
func (c *Cluster) sitePowerOK(s int, w float64, constrained bool) bool {
	return !c.PowerOn || w <= 0 || c.Sites[s].HeadroomFor(constrained) >= w
}

// PowerBlock names the container (site, hall or rack) whose headroom
// keeps the most nodes that would otherwise take a replica of r from
// doing so; ok is false when power excludes no node.
func (c *Cluster) PowerBlock(r *Request) (kind string, pw *Power, ok bool) {
	b := c.blockCounter()
	defer b.reset()
	for p := range c.Pools {
		pl := &c.Pools[p]
		if pl.Model != r.Model || r.Sites != nil && (pl.Site < 0 || !r.Sites[pl.Site]) {
			continue // its nodes fail an earlier filter (model, sovereignty)
		}
		short := c.siteShort(pl.Site, r)
		for _, n := range pl.Nodes {
			if short {
				if nd := &c.Nodes[n]; nd.Up && exclusiveOK(nd, r) {
					b.add(pl.Site)
				}
				continue
			}
			if c.nodeFilter(int(n), r) == powerFilter {
				b.addNode(c, int(n), r)
			}
		}
	}
	return c.blocker(b.best())
}

// PowerBlockOf is PowerBlock(r) for the result res of Find(r): the
// answer diagnose found in its own walk when it made res, else
// PowerBlock's walk.
func (c *Cluster) PowerBlockOf(r *Request, res *Result) (kind string, pw *Power, ok bool) {
	if res.blockKnown {
		return c.blocker(int(res.block))
	}
	return c.PowerBlock(r)
}

// siteShort: power is on and site s cannot take a replica of r, so
// every node of its pools that passes the filters before power is kept
// out by it.
func (c *Cluster) siteShort(s int, r *Request) bool {
	return c.PowerOn && r.MinWattsPerReplica > 0 && c.Sites[s].HeadroomFor(r.Constrained) < r.MinWattsPerReplica
}

// blocker is the container numbered id (sites, then halls, then
// racks); ok is false for -1.
func (c *Cluster) blocker(id int) (kind string, pw *Power, ok bool) {
	hall0, rack0 := len(c.Sites), len(c.Sites)+len(c.Halls)
	switch {
	case id < 0:
		return "", nil, false
	case id < hall0:
		return "site", &c.Sites[id], true
	case id < rack0:
		return "hall", &c.Halls[id-hall0], true
	}
	return "rack", &c.Racks[id-rack0], true
}

// blockCount counts the nodes each container keeps out, containers
// numbered sites, then halls, then racks: the cluster's working memory,
// zero again after reset.
type blockCount struct {
	count []int
	order []int // the containers counted, in the order first met
	hall0 int
	rack0 int
}

// blockCounter is the cluster's blockCount, empty.
func (c *Cluster) blockCounter() *blockCount {
	gs := c.groupSums()
	b := &gs.block
	if n := len(c.Sites) + len(c.Halls) + len(c.Racks); len(b.count) != n {
		b.count = make([]int, n)
	}
	b.hall0, b.rack0 = len(c.Sites), len(c.Sites)+len(c.Halls)
	return b
}

// add counts one more node kept out by container id.
func (b *blockCount) add(id int) { b.addN(id, 1) }

// addN counts k > 0 more nodes kept out by container id.
func (b *blockCount) addN(id, k int) {
	if b.count[id] == 0 {
		b.order = append(b.order, id)
	}
	b.count[id] += k
}

// addNode counts node n, which the power filter rejects for r though
// its site could take a replica: its hall or rack refuses.
func (b *blockCount) addNode(c *Cluster, n int, r *Request) {
	nd := &c.Nodes[n]
	switch w := r.MinWattsPerReplica; {
	case nd.Hall >= 0 && c.Halls[nd.Hall].HeadroomFor(r.Constrained) < w:
		b.add(b.hall0 + nd.Hall)
	case nd.Rack >= 0 && c.Racks[nd.Rack].HeadroomFor(r.Constrained) < w:
		b.add(b.rack0 + nd.Rack)
	}
}

// best is the container that keeps out the most nodes, the first met
// on ties; -1 for none.
func (b *blockCount) best() int {
	best := -1
	for _, id := range b.order {
		if best < 0 || b.count[id] > b.count[best] {
			best = id
		}
	}
	return best
}

// reset zeroes the counts.
func (b *blockCount) reset() {
	for _, id := range b.order {
		b.count[id] = 0
	}
	b.order = b.order[:0]
}
