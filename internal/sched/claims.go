package sched

import "github.com/carnot-dc/carnot/internal/model"

// nodeClaims is what the node states say of claims: per job, the nodes
// with a GPU claimed for it (a node once per run of its GPUs claimed for
// the job; an entry even when none of its nodes is known, since a claim
// on an unknown node still counts), and per job the claimed GPUs still
// dirty. A claimed GPU that is down is not counted dirty: its job does
// not wait for a scrub that will not come while the GPU is lost.
type nodeClaims struct {
	nodes map[string][]int
	dirty map[string]int
}

// read fills c from the node states, with node indices from index;
// c's maps must be empty.
func (c *nodeClaims) read(states []model.NodeState, index map[string]int) {
	for i := range states {
		last := "" // a node's GPUs are mostly claimed for one job
		for _, gs := range states[i].GPUs {
			if gs.ClaimedBy != "" && gs.Dirty && !gs.Down {
				c.dirty[gs.ClaimedBy]++
			}
			if gs.ClaimedBy != "" && gs.ClaimedBy != last {
				last = gs.ClaimedBy
				nodes := c.nodes[last]
				if n, ok := index[states[i].Node]; ok {
					nodes = append(nodes, n)
				}
				c.nodes[last] = nodes
			}
		}
	}
}

// copyTo puts c's claims in the pass's maps (empty): the pass frees
// claims from its copy, never from the kept one.
func (c *nodeClaims) copyTo(nodes map[string][]int, dirty map[string]int) {
	for id, ns := range c.nodes {
		nodes[id] = ns // read only: a pass deletes entries, never appends
	}
	for id, n := range c.dirty {
		dirty[id] = n
	}
}
