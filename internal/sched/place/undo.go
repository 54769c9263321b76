package place

// An undo log makes what-if searches cheap: instead of cloning the whole
// cluster, Begin starts recording every node and power change, and
// Rollback restores them in reverse order. Logs nest: an inner Begin marks
// the log, its Rollback undoes back to the mark and its Commit keeps the
// changes for the outer Rollback. A driver that keeps one cluster between
// scheduling passes opens the outermost log around each pass.

type nodeUndo struct {
	n     int
	node  Node
	dirty []string // the node's dirty owners, when any GPU was dirty
	// hidden: the entry is Hide's, which changed only that the node is
	// up (node is not filled in): undone in reverse order, it finds the
	// node as Hide left it and brings it back up.
	hidden bool
}

type powerUndo struct {
	p        *Power
	load     float64
	spare    float64
	hasSpare bool
}

type undoMark struct{ nodes, power int }

type undoLog struct {
	nodes []nodeUndo
	power []powerUndo
	marks []undoMark // one per open Begin, innermost last
}

// Begin starts recording changes, or marks the open log.
func (c *Cluster) Begin() {
	if c.undo == nil {
		if c.spare == nil {
			c.spare = &undoLog{}
		}
		c.undo = c.spare
		c.undo.nodes, c.undo.power, c.undo.marks = c.undo.nodes[:0], c.undo.power[:0], c.undo.marks[:0]
	}
	c.undo.marks = append(c.undo.marks, undoMark{len(c.undo.nodes), len(c.undo.power)})
}

// BeginFuture is Begin for a look ahead in time: stranded nodes come
// back into the buckets, under the log, as in a copy (where power comes
// back as jobs end).
func (c *Cluster) BeginFuture() {
	c.Begin()
	c.unstrandNear(nil) // none is now; Rollback lists them again
}

// Commit keeps the changes since the matching Begin; the outermost Commit
// stops recording.
func (c *Cluster) Commit() {
	u := c.undo
	if u == nil {
		return
	}
	u.marks = u.marks[:len(u.marks)-1]
	if len(u.marks) == 0 {
		c.undo = nil
		if len(u.nodes) > 0 || len(u.power) > 0 {
			c.bump(-1) // the log's changes stay: see version.go
		}
	}
}

// Rollback restores the cluster as it was at the matching Begin; the
// outermost Rollback stops recording.
func (c *Cluster) Rollback() {
	u := c.undo
	if u == nil {
		return
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	if len(u.marks) == 0 {
		c.undo = nil
	}
	for i := len(u.power) - 1; i >= m.power; i-- {
		e := &u.power[i]
		e.p.LoadW, e.p.SpareW, e.p.HasSpare = e.load, e.spare, e.hasSpare
	}
	u.power = u.power[:m.power]
	for i := len(u.nodes) - 1; i >= m.nodes; i-- {
		e := &u.nodes[i]
		if e.hidden {
			c.unhide(e.n)
			continue
		}
		if c.Nodes[e.n].Up {
			c.setBucket(e.n, false)
		}
		if pl := e.node.Pool; pl >= 0 {
			c.Pools[pl].Free += e.node.Free - c.Nodes[e.n].Free
			if e.node.Up && !c.Nodes[e.n].Up { // Hide took it out
				c.Pools[pl].Down--
			}
		}
		if e.node.Stranded && !c.Nodes[e.n].Stranded {
			c.stranded = append(c.stranded, int32(e.n))
		}
		c.Nodes[e.n] = e.node
		if len(e.dirty) > 0 {
			copy(c.dirty[e.node.dirtyOff:e.node.dirtyOff+len(e.dirty)], e.dirty)
		}
		if c.Nodes[e.n].Up {
			c.setBucket(e.n, true)
		}
	}
	u.nodes = u.nodes[:m.nodes]
}

func (c *Cluster) saveNode(n int) {
	if e := c.pushNode(n); e != nil && c.anyDirty {
		nd := &c.Nodes[n]
		e.dirty = append(e.dirty, c.dirty[nd.dirtyOff:nd.dirtyOff+nd.NGPU]...)
	}
}

// saveNodeOnly is saveNode for a change that leaves the node's GPU
// restrictions (dirty owners) alone: every change to them saves the
// node first, so an earlier record need not restore them.
func (c *Cluster) saveNodeOnly(n int) { c.pushNode(n) }

// pushNode records node n without its restrictions; nil when no log is open.
func (c *Cluster) pushNode(n int) *nodeUndo {
	if c.undo == nil {
		c.changed(c.Nodes[n].Site)
		return nil
	}
	e := c.undo.next()
	e.n, e.node, e.hidden = n, c.Nodes[n], false
	return e
}

// next is a new entry at the end of the log's nodes (reusing the space
// and the dirty list of an earlier one), with no dirty owners.
func (u *undoLog) next() *nodeUndo {
	if len(u.nodes) < cap(u.nodes) {
		u.nodes = u.nodes[:len(u.nodes)+1]
	} else {
		u.nodes = append(u.nodes, nodeUndo{})
	}
	e := &u.nodes[len(u.nodes)-1]
	e.dirty = e.dirty[:0]
	return e
}

// pushHidden records that Hide took node n out (the undo log is open):
// no copy of the node, which Hide changes in nothing else.
func (c *Cluster) pushHidden(n int) {
	e := c.undo.next()
	e.n, e.hidden = n, true
}

// unhide undoes Hide of node n.
func (c *Cluster) unhide(n int) {
	nd := &c.Nodes[n]
	nd.Up = true
	if nd.Pool >= 0 {
		c.Pools[nd.Pool].Down--
	}
	c.setBucket(n, true)
}

func (c *Cluster) savePower(p *Power) {
	if c.undo == nil {
		c.changed(p.site)
		return
	}
	c.undo.power = append(c.undo.power, powerUndo{p, p.LoadW, p.SpareW, p.HasSpare})
}

// SetSpare sets what jobs running at a reservation's start may still take
// of node n (GPUs, CPUs, memory), and the reserved job's tenant there and
// whether it is node-exclusive, under the undo log.
func (c *Cluster) SetSpare(n, gpus, cpus, mem int, tenant string, tenantExcl bool) {
	c.saveNode(n)
	nd := &c.Nodes[n]
	nd.Spare, nd.SpareCPU, nd.SpareMem = gpus, cpus, mem
	nd.ResTenant, nd.ResTenantExcl = tenant, tenantExcl
}

// SetPowerSpare sets what such jobs may add to container p, under the
// undo log.
func (c *Cluster) SetPowerSpare(p *Power, w float64) {
	c.savePower(p)
	p.SpareW, p.HasSpare = w, true
}
