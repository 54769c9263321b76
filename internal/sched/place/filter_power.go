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
	// Containers are numbered sites, then halls, then racks; count is
	// the cluster's working memory, zero again on return.
	gs := c.groupSums()
	if n := len(c.Sites) + len(c.Halls) + len(c.Racks); len(gs.blocked) != n {
		gs.blocked = make([]int, n)
	}
	count, order := gs.blocked, gs.blockOrder[:0]
	defer func() {
		for _, id := range order {
			count[id] = 0
		}
		gs.blockOrder = order[:0]
	}()
	blocks := func(id int) { // one more node kept out by container id
		if count[id] == 0 {
			order = append(order, id)
		}
		count[id]++
	}
	hall0, rack0 := len(c.Sites), len(c.Sites)+len(c.Halls)
	for p := range c.Pools {
		pl := &c.Pools[p]
		if pl.Model != r.Model || r.Sites != nil && (pl.Site < 0 || !r.Sites[pl.Site]) {
			continue // its nodes fail an earlier filter (model, sovereignty)
		}
		site := &c.Sites[pl.Site]
		// When the site itself cannot take a replica, every node of the
		// pool that passes the filters before power is kept out by it.
		short := c.PowerOn && r.MinWattsPerReplica > 0 && site.HeadroomFor(r.Constrained) < r.MinWattsPerReplica
		for _, n := range pl.Nodes {
			nd := &c.Nodes[n]
			if short {
				if nd.Up && exclusiveOK(nd, r) {
					blocks(pl.Site)
				}
				continue
			}
			if c.nodeFilter(int(n), r) != powerFilter {
				continue
			}
			// the site takes a replica (not short): its hall or rack refuses
			switch w := r.MinWattsPerReplica; {
			case nd.Hall >= 0 && c.Halls[nd.Hall].HeadroomFor(r.Constrained) < w:
				blocks(hall0 + nd.Hall)
			case nd.Rack >= 0 && c.Racks[nd.Rack].HeadroomFor(r.Constrained) < w:
				blocks(rack0 + nd.Rack)
			}
		}
	}
	best := -1
	for _, id := range order {
		if best < 0 || count[id] > count[best] {
			best = id
		}
	}
	switch {
	case best < 0:
		return "", nil, false
	case best < hall0:
		return "site", &c.Sites[best], true
	case best < rack0:
		return "hall", &c.Halls[best-hall0], true
	}
	return "rack", &c.Racks[best-rack0], true
}
