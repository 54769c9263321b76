package place

// An undo log makes what-if searches cheap: instead of cloning the whole
// cluster, Begin starts recording every node and power change, and
// Rollback restores them in reverse order. Logs do not nest.

type nodeUndo struct {
	n     int
	node  Node
	dirty []string // the node's dirty owners, when any GPU was dirty
}

type powerUndo struct {
	p    *Power
	load float64
}

type undoLog struct {
	nodes []nodeUndo
	power []powerUndo
}

// Begin starts recording changes. It panics if a log is already open,
// which would be a bug in the caller.
func (c *Cluster) Begin() {
	if c.undo != nil {
		panic("place: nested Begin")
	}
	c.undo = &undoLog{}
}

// Commit stops recording and keeps the changes.
func (c *Cluster) Commit() { c.undo = nil }

// Rollback restores the cluster as it was at Begin and stops recording.
func (c *Cluster) Rollback() {
	u := c.undo
	c.undo = nil
	if u == nil {
		return
	}
	for i := len(u.power) - 1; i >= 0; i-- {
		u.power[i].p.LoadW = u.power[i].load
	}
	for i := len(u.nodes) - 1; i >= 0; i-- {
		e := u.nodes[i]
		if c.Nodes[e.n].Up {
			c.setBucket(e.n, false)
		}
		c.Nodes[e.n] = e.node
		if e.dirty != nil {
			copy(c.dirty[e.node.dirtyOff:e.node.dirtyOff+len(e.dirty)], e.dirty)
		}
		if c.Nodes[e.n].Up {
			c.setBucket(e.n, true)
		}
	}
}

func (c *Cluster) saveNode(n int) {
	if c.undo == nil {
		return
	}
	nd := &c.Nodes[n]
	e := nodeUndo{n: n, node: *nd}
	if c.anyDirty {
		e.dirty = append([]string(nil), c.dirty[nd.dirtyOff:nd.dirtyOff+nd.NGPU]...)
	}
	c.undo.nodes = append(c.undo.nodes, e)
}

func (c *Cluster) savePower(p *Power) {
	if c.undo != nil {
		c.undo.power = append(c.undo.power, powerUndo{p, p.LoadW})
	}
}
