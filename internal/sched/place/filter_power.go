package place

// powerOK: the node's site, hall and rack can take at least w more watts.
func (c *Cluster) powerOK(nd *Node, w float64, constrained bool) bool {
	if !c.PowerOn || w <= 0 {
		return true
	}
	return (nd.Site < 0 || c.Sites[nd.Site].HeadroomFor(constrained) >= w) &&
		(nd.Hall < 0 || c.Halls[nd.Hall].HeadroomFor(constrained) >= w) &&
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
	count := map[*Power]int{}
	kinds := map[*Power]string{}
	var order []*Power
	blocks := func(pw *Power, kind string) { // one more node kept out by pw
		if count[pw] == 0 {
			order = append(order, pw)
			kinds[pw] = kind
		}
		count[pw]++
	}
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
					blocks(site, "site")
				}
				continue
			}
			if c.nodeFilter(int(n), r) != powerFilter {
				continue
			}
			for _, x := range []struct {
				k string
				i int
				l []Power
			}{{"site", nd.Site, c.Sites}, {"hall", nd.Hall, c.Halls}, {"rack", nd.Rack, c.Racks}} {
				if x.i >= 0 && x.l[x.i].HeadroomFor(r.Constrained) < r.MinWattsPerReplica {
					blocks(&x.l[x.i], x.k)
					break
				}
			}
		}
	}
	var best *Power
	for _, pw := range order {
		if best == nil || count[pw] > count[best] {
			best = pw
		}
	}
	if best != nil {
		return kinds[best], best, true
	}
	return "", nil, false
}
