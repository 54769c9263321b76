package place

import "slices"

// capacity is how many of r's replicas node n can take now (≤ r.Replicas).
func (c *Cluster) capacity(n int, r *Request) int {
	return c.capacityOf(n, r, c.UsableBy(n, r.Tenant, r.Claim))
}

// Capacity is how many of r's replicas node n can take now (at most
// r.Replicas).
func (c *Cluster) Capacity(n int, r *Request) int { return c.capacity(n, r) }

// capacityOf is capacity given the GPUs of node n usable by r
// (UsableBy), when the caller has counted them already.
func (c *Cluster) capacityOf(n int, r *Request, u int) int {
	nd := &c.Nodes[n]
	if r.Constrained && nd.Spare >= 0 && !spareShareable(nd, r) {
		return 0
	}
	k := r.Replicas
	if r.GPUs > 0 {
		if r.Constrained && nd.Spare >= 0 {
			u = min(u, nd.Spare)
		}
		k = min(k, u/r.GPUs)
	}
	cpu, mem := nd.FreeCPU, nd.FreeMem
	if r.Constrained && nd.Spare >= 0 {
		cpu, mem = min(cpu, nd.SpareCPU), min(mem, nd.SpareMem)
	}
	if r.CPUs > 0 {
		k = min(k, cpu/r.CPUs)
	}
	if r.Mem > 0 {
		k = min(k, mem/r.Mem)
	}
	if r.ExclusiveNode && nd.Jobs > 0 {
		k = 0
	}
	return max(k, 0)
}

// spareShareable reports whether r, which would still run at the
// reservation's start, may take spares of reserved node nd: the reserved
// job must still be able to join it then. A job that wants the node to
// itself would keep it out, and so would a node-exclusive tenant's job
// beside another tenant's. (A reserved job that wants whole nodes leaves
// no spares: see the reservation's holdSpares.)
func spareShareable(nd *Node, r *Request) bool {
	return !r.ExclusiveNode && (r.Tenant == nd.ResTenant || !r.TenantExcl && !nd.ResTenantExcl)
}

// pickGPUs chooses count usable GPUs of node n for r: those claimed for
// its job first, then its tenant's own dirty GPUs, then clean ones,
// lowest index first.
func (c *Cluster) pickGPUs(n int, r *Request, count int) []int {
	return c.appendGPUs(make([]int, 0, count), n, r, count)
}

// appendGPUs is pickGPUs appending to out.
func (c *Cluster) appendGPUs(out []int, n int, r *Request, count int) []int {
	nd := &c.Nodes[n]
	from := len(out)
	count += from
	if nd.Dirty > 0 {
		for _, owner := range []string{r.Claim, r.Tenant} {
			if owner == "" {
				continue
			}
			for g := 0; g < nd.NGPU && len(out) < count; g++ {
				if nd.Busy&(1<<g) == 0 && c.dirty[nd.dirtyOff+g] == owner {
					out = append(out, g)
				}
			}
		}
	}
	for g := 0; g < nd.NGPU && len(out) < count; g++ {
		if nd.Busy&(1<<g) == 0 && c.DirtyOwner(n, g) == "" {
			out = append(out, g)
		}
	}
	slices.Sort(out[from:])
	return out
}

// Take allocates a slot for r's job and, when r is constrained by a
// reservation, charges the reservation's spares (GPUs, CPUs, memory and
// power) that it uses. It is undone by Rollback like Alloc.
func (c *Cluster) Take(n int, gpus []int, r *Request, capW int) {
	c.Alloc(n, gpus, r.Job, capW, r.TenantExcl)
	if !r.Constrained {
		return
	}
	nd := &c.Nodes[n]
	if nd.Spare >= 0 {
		nd.Spare = max(0, nd.Spare-len(gpus))
		nd.SpareCPU = max(0, nd.SpareCPU-r.CPUs)
		nd.SpareMem = max(0, nd.SpareMem-r.Mem)
	}
	if nd.Model < 0 || len(gpus) == 0 {
		return
	}
	w := float64(len(gpus)) * (c.GPUWatts(nd.Model, capW) - float64(c.Models[nd.Model].IdleWatts))
	for _, pw := range []*Power{c.site(nd), c.hall(nd), c.rack(nd)} {
		if pw != nil && pw.HasSpare {
			c.savePower(pw)
			pw.SpareW -= w
		}
	}
}

// Recap raises the cap of gpus GPUs running on node n from oldCap to
// newCap (0 = uncapped): the loads of the node's site, hall and rack
// grow by the difference, and so does what the reservation's spares
// have given, as for a constrained start. It is undone by Rollback like
// Alloc. A node counted at nameplate is left alone: its load already
// counts every GPU at TDP.
func (c *Cluster) Recap(n, gpus, oldCap, newCap int) {
	nd := &c.Nodes[n]
	if nd.Model < 0 || nd.Nameplate || gpus <= 0 {
		return
	}
	w := float64(gpus) * (c.GPUWatts(nd.Model, newCap) - c.GPUWatts(nd.Model, oldCap))
	c.saveLoads(nd)
	c.addLoadSaved(nd, w)
	for _, pw := range []*Power{c.site(nd), c.hall(nd), c.rack(nd)} {
		if pw != nil && pw.HasSpare {
			c.savePower(pw)
			pw.SpareW -= w
		}
	}
}

func (c *Cluster) site(nd *Node) *Power {
	if nd.Site < 0 {
		return nil
	}
	return &c.Sites[nd.Site]
}

func (c *Cluster) hall(nd *Node) *Power {
	if nd.Hall < 0 {
		return nil
	}
	return &c.Halls[nd.Hall]
}

func (c *Cluster) rack(nd *Node) *Power {
	if nd.Rack < 0 {
		return nil
	}
	return &c.Racks[nd.Rack]
}

// Hide takes node n out of every search, as if it were down, under the
// undo log and in a what-if only: a look at where a request would go
// without it. The node counts among its pool's down nodes (Pool.Down)
// until Rollback.
func (c *Cluster) Hide(n int) {
	if c.undo == nil || n < 0 || n >= len(c.Nodes) || !c.Nodes[n].Up {
		return
	}
	c.pushHidden(n)
	c.setBucket(n, false)
	nd := &c.Nodes[n]
	nd.Up = false
	if nd.Pool >= 0 {
		c.Pools[nd.Pool].Down++
	}
}

// HoldPower adds w watts (when positive) to the load of node n's site,
// hall and rack, under the undo log like Take: power kept for a job
// that has not started yet (the core holds the room of a job waiting
// for its preemption victims). No GPU, CPU or memory changes.
func (c *Cluster) HoldPower(n int, w float64) {
	if w <= 0 || n < 0 || n >= len(c.Nodes) {
		return
	}
	c.addLoad(&c.Nodes[n], w)
}
