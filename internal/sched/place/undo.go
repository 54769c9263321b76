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
	p     *Power
	load  float64
	spare float64
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
	if c.spare == nil {
		c.spare = &undoLog{}
	}
	c.undo = c.spare
	c.undo.nodes, c.undo.power = c.undo.nodes[:0], c.undo.power[:0]
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
		u.power[i].p.LoadW, u.power[i].p.SpareW = u.power[i].load, u.power[i].spare
	}
	for i := len(u.nodes) - 1; i >= 0; i-- {
		e := u.nodes[i]
		if c.Nodes[e.n].Up {
			c.setBucket(e.n, false)
		}
		c.Nodes[e.n] = e.node
		if len(e.dirty) > 0 {
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
	u := c.undo
	if len(u.nodes) < cap(u.nodes) {
		u.nodes = u.nodes[:len(u.nodes)+1]
	} else {
		u.nodes = append(u.nodes, nodeUndo{})
	}
	e := &u.nodes[len(u.nodes)-1]
	e.n, e.node = n, *nd
	e.dirty = e.dirty[:0]
	if c.anyDirty {
		e.dirty = append(e.dirty, c.dirty[nd.dirtyOff:nd.dirtyOff+nd.NGPU]...)
	}
}

func (c *Cluster) savePower(p *Power) {
	if c.undo != nil {
		c.undo.power = append(c.undo.power, powerUndo{p, p.LoadW, p.SpareW})
	}
}
