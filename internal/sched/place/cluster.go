package place

import (
	"math/bits"

	"github.com/carnot-dc/carnot/internal/model"
)

// Levels packed by Find, tightest first: NVLink domain, leaf, rack, hall, site.
var Levels = [...]model.TopologyLevel{model.LevelNVLink, model.LevelLeaf, model.LevelRack, model.LevelHall, model.LevelSite}

// NumLevels is len(Levels).
const NumLevels = len(Levels)

// Node is the scheduling view of one node.
type Node struct {
	Spec  *model.Node
	Site  int
	Hall  int
	Rack  int
	Model int // index into Cluster.Models; -1 for GPU-less nodes
	Group [NumLevels]int32
	Pool  int32 // (site, model) pool
	Pos   int32 // position within the pool
	Up    bool
	// Nameplate: the node is unreachable (model.NodeUnreachable): its
	// GPUs count at TDP in the loads whatever runs on them, so allocating
	// or releasing them changes no load.
	Nameplate bool
	Busy      uint64 // bit i set: GPU i allocated
	NGPU      int
	Free      int // GPUs not allocated (clean or dirty)
	Dirty     int // free GPUs still dirty
	FreeCPU   int
	FreeMem   int
	Jobs      int    // allocations on the node
	Owner     string // tenant of the allocations if only one, "" if none
	Mixed     bool   // allocations of more than one tenant
	ExclTen   bool   // a node-exclusive tenant holds it
	ExclJob   bool   // an exclusive-node job holds it
	// Reservation spares: what jobs still running at the reservation's
	// start may take of a reserved node. Spare is -1 on unreserved nodes.
	Spare    int
	SpareCPU int
	SpareMem int
	// ResTenant is the reserved job's tenant on a reserved node, and
	// ResTenantExcl whether that tenant is node-exclusive: a job still
	// running at the start may share the node with it only as
	// exclusivity allows (spareShareable).
	ResTenant     string
	ResTenantExcl bool
	// Stranded: the node's site, hall or rack cannot power even one more
	// GPU at the lowest cap; it is left out of the buckets until a
	// release in its site, hall or rack, a look ahead in time or a copy
	// of the cluster looks again.
	Stranded bool
	// GPUsDown has bit i set when GPU i is down (model.GPUState.Down),
	// busy or free: a release leaves it to nobody (GPUDown), not clean.
	GPUsDown uint64
	dirtyOff int // offset into Cluster.dirty
}

// CPUOnly names the virtual model of nodes without GPUs.
const CPUOnly = "CPU-only"

// Power is a container with a power limit: a site, hall or rack.
type Power struct {
	ID     string
	LimitW float64 // 0 = no limit
	LoadW  float64
	// SpareW is what jobs still running at a reservation's start may add
	// to a container the reserved job needs; valid when HasSpare.
	SpareW   float64
	HasSpare bool
	site     int // its site (itself for a site); -1: several or none
}

// HeadroomFor is the headroom for a request: constrained requests also
// respect the reservation's spare.
// Site is the index of the site that holds container p (its own for a
// site), or -1 when none or several do.
func (p *Power) Site() int { return p.site }

func (p *Power) HeadroomFor(constrained bool) float64 {
	h := p.Headroom()
	if constrained && p.HasSpare {
		h = min(h, p.SpareW)
	}
	return h
}

// Headroom is how many watts the container can still take.
func (p *Power) Headroom() float64 {
	if p.LimitW <= 0 {
		return 1e18
	}
	return p.LimitW - p.LoadW
}

// Pool is the nodes of one GPU model at one site.
type Pool struct {
	Site, Model int
	Nodes       []int32    // node indices, ascending
	Buckets     [][]uint64 // Buckets[k]: bitset over Nodes of nodes with k free GPUs
	// Free is the free GPUs of the pool's nodes, up or not, dirty or
	// clean: no request gets more GPUs of the pool than that.
	Free int
	// MaxGPUs is the most GPUs one of its nodes has.
	MaxGPUs int
	// Down is how many of its nodes are not up: a node's condition
	// changes only with a new view, or in a what-if, where Hide counts
	// the node it takes out until Rollback.
	Down int
}

// Cluster is the mutable free-capacity view of a facility. Clone it for
// what-if searches; the zero value is not usable, build one with New.
type Cluster struct {
	Fac        *model.Facility
	Models     []model.GPUModel // the facility's models, then the CPU-only one
	ModelIndex map[string]int   // the facility's models only
	CPUModel   int              // index of the virtual model of GPU-less nodes
	Sites      []Power
	SiteSpecs  []*model.Site
	Halls      []Power
	Racks      []Power
	Nodes      []Node
	NodeIndex  map[string]int
	GroupNames [NumLevels][]string
	GroupSize  [NumLevels][]int // nodes per group
	// Nested[a][b]: every group of level a lies inside one group of level b.
	Nested    [NumLevels][NumLevels]bool
	Pools     []Pool
	PoolIndex map[[2]int]int
	PowerOn   bool
	// MinGPUWatts is, per model, the least power one more busy GPU can
	// add under the policy (lowest cap minus idle); 0 disables stranding.
	MinGPUWatts []float64
	dirty       []string // per node GPU: tenant that left it dirty, "" clean
	claim       []string // per node GPU: job a preemption freed it for
	anyDirty    bool
	// stranded lists the nodes that may be stranded (and some that no
	// longer are, or twice): a look ahead in time brings them back
	// without a walk over every node.
	stranded []int32
	undo     *undoLog
	spare    *undoLog // reused between Begin calls
	// uid, ver and clock: see version.go
	uid   uint64
	ver   []uint64
	clock uint64
	spans bool       // a hall or rack holds nodes of several sites
	sums  *groupSums // Find's and PowerBlock's working memory, never shared by copies
}

// CopyTo makes dst an independent copy of c, reusing dst's buffers.
func (c *Cluster) CopyTo(dst *Cluster) {
	if dst.Pools == nil || len(dst.Pools) != len(c.Pools) {
		*dst = *c.Clone()
		return
	}
	pools, sites, halls, racks, nodes, dirty, spare, sums := dst.Pools, dst.Sites, dst.Halls, dst.Racks, dst.Nodes, dst.dirty, dst.spare, dst.sums
	*dst = *c
	dst.undo, dst.spare, dst.sums = nil, spare, sums
	dst.stranded = nil // unstrand below leaves none; the list is c's
	dst.Sites = append(sites[:0], c.Sites...)
	dst.Halls = append(halls[:0], c.Halls...)
	dst.Racks = append(racks[:0], c.Racks...)
	dst.Nodes = append(nodes[:0], c.Nodes...)
	dst.dirty = append(dirty[:0], c.dirty...)
	if c.dirty == nil {
		dst.dirty = nil
	}
	if c.claim != nil { // SetState changes claims in place: copies keep their own
		dst.claim = append([]string(nil), c.claim...)
	}
	dst.Pools = pools
	for i, p := range c.Pools {
		b := pools[i].Buckets
		dst.Pools[i] = p
		dst.Pools[i].Buckets = b
		for k := range p.Buckets {
			b[k] = append(b[k][:0], p.Buckets[k]...)
		}
	}
	dst.unstrand()
	dst.renumber()
}

// unstrand puts stranded nodes back in the buckets; a copy moves through
// time, where power comes back.
func (c *Cluster) unstrand() {
	for i := range c.Nodes {
		if nd := &c.Nodes[i]; nd.Stranded {
			nd.Stranded = false
			if nd.Up {
				c.setBucket(i, true)
			}
		}
	}
}

// Clone returns an independent copy sharing only immutable parts;
// stranded nodes come back into the buckets.
func (c *Cluster) Clone() *Cluster {
	d := *c
	d.Sites = append([]Power(nil), c.Sites...)
	d.Halls = append([]Power(nil), c.Halls...)
	d.Racks = append([]Power(nil), c.Racks...)
	d.undo, d.spare, d.sums, d.stranded = nil, nil, nil, nil
	d.Nodes = append([]Node(nil), c.Nodes...)
	d.dirty = append([]string(nil), c.dirty...)
	if c.claim != nil {
		d.claim = append([]string(nil), c.claim...)
	}
	d.Pools = make([]Pool, len(c.Pools))
	for i, p := range c.Pools {
		d.Pools[i] = p
		d.Pools[i].Buckets = make([][]uint64, len(p.Buckets))
		for k, b := range p.Buckets {
			d.Pools[i].Buckets[k] = append([]uint64(nil), b...)
		}
	}
	d.unstrand()
	d.renumber()
	return &d
}

// MaybeDirty reports whether some GPU may be dirty (or claimed); false
// means no node has a dirty free GPU.
func (c *Cluster) MaybeDirty() bool { return c.anyDirty }

// DirtyOwner returns the tenant that left GPU g of node n dirty, or "".
func (c *Cluster) DirtyOwner(n, g int) string {
	if !c.anyDirty {
		return ""
	}
	return c.dirty[c.Nodes[n].dirtyOff+g]
}

// Usable is how many free GPUs of node n tenant may use.
func (c *Cluster) Usable(n int, tenant string) int { return c.UsableBy(n, tenant, "") }

// UsableBy is how many free GPUs of node n a job of tenant with claim key
// claim ("" for none) may use.
func (c *Cluster) UsableBy(n int, tenant, claim string) int {
	nd := &c.Nodes[n]
	if nd.Dirty == 0 {
		return nd.Free
	}
	u := 0
	for g := 0; g < nd.NGPU; g++ {
		if nd.Busy&(1<<g) == 0 {
			if o := c.dirty[nd.dirtyOff+g]; o == "" || o == tenant || claim != "" && o == claim {
				u++
			}
		}
	}
	return u
}

func (c *Cluster) setBucket(n int, on bool) {
	nd := &c.Nodes[n]
	if nd.Pool < 0 {
		return
	}
	if on && (nd.Stranded || nd.ExclJob) {
		return // nobody else can take a GPU replica here now
	}
	b := c.Pools[nd.Pool].Buckets[nd.Free]
	w, m := nd.Pos/64, uint64(1)<<(nd.Pos%64)
	if on {
		b[w] |= m
	} else {
		b[w] &^= m
	}
}

// forEachInBucket calls fn for the nodes of pool p with k free GPUs in
// ascending order until fn returns true.
func (c *Cluster) forEachInBucket(p, k int, fn func(n int) bool) bool {
	pool := &c.Pools[p]
	for w, word := range pool.Buckets[k] {
		for word != 0 {
			i := bits.TrailingZeros64(word)
			word &= word - 1
			if fn(int(pool.Nodes[w*64+i])) {
				return true
			}
		}
	}
	return false
}

// GPUWatts is the power one busy GPU of model m draws at cap (0 = TDP).
func (c *Cluster) GPUWatts(m, capW int) float64 {
	if capW > 0 {
		return float64(capW)
	}
	return float64(c.Models[m].TDPWatts)
}
