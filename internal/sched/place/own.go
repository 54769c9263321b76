package place

// JoinOwn picks the GPUs of node n for one more replica of r's job, an
// exclusive-node job that already holds n: its replicas share the nodes
// it holds, as a gang's do, though nobody else may join them (so Find,
// whose filters keep every exclusive job off a node that is not empty,
// never offers n). It returns nil when the replica does not fit there:
// the node is not up, of another model or site, without the power for
// the replica, or without its GPUs, CPUs and memory. The caller knows n
// holds r's job and no other. A node a reservation counts spares on is
// left alone: the reserved job's start plans for what runs there now.
func (c *Cluster) JoinOwn(n int, r *Request) ([]int, bool) {
	if n < 0 || n >= len(c.Nodes) || !r.ExclusiveNode {
		return nil, false
	}
	nd := &c.Nodes[n]
	if !nd.Up || nd.Model != r.Model || (r.Sites != nil && (nd.Site < 0 || !r.Sites[nd.Site])) {
		return nil, false
	}
	if nd.Spare >= 0 || !c.powerOK(nd, r.MinWattsPerReplica, r.Constrained) {
		return nil, false
	}
	one := *r
	one.ExclusiveNode, one.Replicas = false, 1
	if c.capacity(n, &one) < 1 {
		return nil, false
	}
	return c.pickGPUs(n, &one, r.GPUs), true
}
