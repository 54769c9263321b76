package place

// Room is what the eligible nodes of a request offer a replica, for a
// reason that says what is short: the GPUs, or the CPUs and memory
// beside them.
type Room struct {
	// GPUs is the most usable GPUs on one eligible node.
	GPUs int
	// Nodes counts the eligible nodes with usable GPUs for a replica
	// (every eligible node for replicas without GPUs); CPUs and Mem are
	// the most free CPUs and memory (GiB) on one of them, and GPUFit is
	// how many replicas their GPUs would hold, CPUs and memory aside.
	Nodes, CPUs, Mem, GPUFit int
}

// RoomFor reads, node by node, what the nodes that pass r's filters
// offer (a reserved node's spares for a constrained request). It walks
// every node of r's pools: callers ask only to explain a failure.
func (c *Cluster) RoomFor(r *Request) Room {
	var rm Room
	for p := range c.Pools {
		pool := &c.Pools[p]
		if pool.Model != r.Model || r.Sites != nil && !r.Sites[pool.Site] {
			continue
		}
		for _, n32 := range pool.Nodes {
			n := int(n32)
			if c.nodeFilter(n, r) != passed {
				continue
			}
			nd := &c.Nodes[n]
			u, cpu, mem := c.UsableBy(n, r.Tenant, r.Claim), nd.FreeCPU, nd.FreeMem
			if r.Constrained && nd.Spare >= 0 {
				if !spareShareable(nd, r) {
					continue
				}
				u, cpu, mem = min(u, nd.Spare), min(cpu, nd.SpareCPU), min(mem, nd.SpareMem)
			}
			rm.GPUs = max(rm.GPUs, u)
			if u < r.GPUs {
				continue
			}
			rm.Nodes++
			rm.CPUs, rm.Mem = max(rm.CPUs, cpu), max(rm.Mem, mem)
			if r.GPUs > 0 {
				rm.GPUFit += u / r.GPUs
			}
		}
	}
	return rm
}
