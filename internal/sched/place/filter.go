package place

import "github.com/carnot-dc/carnot/internal/model"

// Request asks for room for Replicas replicas of GPUs GPUs each (plus CPUs
// and memory) of one GPU model, for one tenant.
type Request struct {
	Tenant        string
	TenantExcl    bool // tenant never shares nodes
	ExclusiveNode bool // the job wants whole nodes
	Model         int
	Sites         []bool // allowed sites (sovereignty); nil = all
	SitesID       int    // the caller's name for Sites, for memo keys
	Replicas      int
	GPUs          int
	CPUs          int
	Mem           int
	Level         int  // index into Levels of the requirement; NumLevels = any
	Required      bool // Level is a requirement, not a preference
	SameNode      bool // every replica on one node (topology "node", required)
	// MinWattsPerReplica is the least power a replica adds (at the lowest
	// cap the policy allows); nodes without that headroom are skipped.
	MinWattsPerReplica float64
	// Job is the job asking; only the caller reads it.
	Job *model.Job
	// Constrained: the job would still run at the reservation's start,
	// so it may use only reserved nodes' spare GPUs.
	Constrained bool
}

// Filter names, used in reasons.
const (
	FilterNodeState   = "node-state"
	FilterModel       = "gpu-model"
	FilterSovereignty = "sovereignty"
	FilterExclusive   = "exclusive"
	FilterPower       = "power"
)

// FilterNames lists the filters in the order reasons name them.
var FilterNames = [...]string{FilterNodeState, FilterModel, FilterSovereignty, FilterExclusive, FilterPower}

// Rejections counts nodes rejected per filter, indexed like FilterNames.
type Rejections [len(FilterNames)]int

func (r *Rejections) add(f string) {
	for i, n := range FilterNames {
		if n == f {
			r[i]++
		}
	}
}

// Of returns the count for filter f.
func (r *Rejections) Of(f string) int {
	for i, n := range FilterNames {
		if n == f {
			return r[i]
		}
	}
	return 0
}

// nodeFilter reports which filter, if any, rejects node n for r.
func (c *Cluster) nodeFilter(n int, r *Request) string {
	nd := &c.Nodes[n]
	switch {
	case !nd.Up:
		return FilterNodeState
	case nd.Model != r.Model:
		return FilterModel
	case r.Sites != nil && (nd.Site < 0 || !r.Sites[nd.Site]):
		return FilterSovereignty
	case !exclusiveOK(nd, r):
		return FilterExclusive
	case !c.powerOK(nd, r.MinWattsPerReplica, r.Constrained):
		return FilterPower
	}
	return ""
}

// exclusiveOK: exclusive-node jobs need empty nodes; nobody joins an
// exclusive-node job; node-exclusive tenants share only among themselves.
func exclusiveOK(nd *Node, r *Request) bool {
	if nd.Jobs == 0 {
		return true
	}
	if r.ExclusiveNode || nd.ExclJob {
		return false
	}
	if nd.Mixed || nd.Owner != r.Tenant {
		return !(nd.ExclTen || r.TenantExcl)
	}
	return true
}

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

// capacity is how many of r's replicas node n can take now (≤ r.Replicas).
func (c *Cluster) capacity(n int, r *Request) int {
	nd := &c.Nodes[n]
	k := r.Replicas
	if r.GPUs > 0 {
		u := c.Usable(n, r.Tenant)
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

// pickGPUs chooses count usable GPUs of node n for tenant: the tenant's
// own dirty GPUs first, then clean ones, lowest index first.
func (c *Cluster) pickGPUs(n int, tenant string, count int) []int {
	nd := &c.Nodes[n]
	out := make([]int, 0, count)
	if nd.Dirty > 0 {
		for g := 0; g < nd.NGPU && len(out) < count; g++ {
			if nd.Busy&(1<<g) == 0 && c.dirty[nd.dirtyOff+g] == tenant {
				out = append(out, g)
			}
		}
	}
	for g := 0; g < nd.NGPU && len(out) < count; g++ {
		if nd.Busy&(1<<g) == 0 && c.DirtyOwner(n, g) == "" {
			out = append(out, g)
		}
	}
	sortInts(out)
	return out
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// PowerBlock names the container (site, hall or rack) whose headroom
// keeps the most nodes that would otherwise take a replica of r from
// doing so; ok is false when power excludes no node.
func (c *Cluster) PowerBlock(r *Request) (kind string, pw *Power, ok bool) {
	count := map[*Power]int{}
	kinds := map[*Power]string{}
	var order []*Power
	for p := range c.Pools {
		if c.Pools[p].Model != r.Model {
			continue
		}
		for _, n := range c.Pools[p].Nodes {
			nd := &c.Nodes[n]
			if c.nodeFilter(int(n), r) != FilterPower {
				continue
			}
			for _, x := range []struct {
				k string
				i int
				l []Power
			}{{"site", nd.Site, c.Sites}, {"hall", nd.Hall, c.Halls}, {"rack", nd.Rack, c.Racks}} {
				if x.i >= 0 && x.l[x.i].HeadroomFor(r.Constrained) < r.MinWattsPerReplica {
					pw := &x.l[x.i]
					if count[pw] == 0 {
						order = append(order, pw)
						kinds[pw] = x.k
					}
					count[pw]++
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
