package sched

import (
	"math/bits"
	"slices"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/place"
)

// heldGPUs is what a hold would take of one node, as probe applies it
// with Alloc: the GPUs in range, and the watts each adds at TDP.
type heldGPUs struct {
	node int32
	gpus uint64
	w    float64
}

// heldMasks is the GPUs slots would take, node by node.
func heldMasks(c *place.Cluster, slots []place.Slot) []heldGPUs {
	out := make([]heldGPUs, 0, len(slots))
	for _, s := range slots {
		nd := &c.Nodes[s.Node]
		m := heldGPUs{node: int32(s.Node)}
		for _, g := range s.GPUs {
			if g >= 0 && g < nd.NGPU {
				m.gpus |= 1 << g
			}
		}
		if nd.Model >= 0 && !nd.Nameplate { // a nameplate node's GPUs already count at TDP
			m.w = c.GPUWatts(nd.Model, 0) - float64(c.Models[nd.Model].IdleWatts)
		}
		out = append(out, m)
	}
	return out
}

// rehold keeps the estimated runs (holds) off GPUs g of node n that a
// start of this pass took until end: a hold that begins before end and
// chose some of them (a job backfilled on the reservation's spare takes
// the lowest free GPUs, as the estimate did) moves to other GPUs of the
// node that are free by its start and that no overlapping hold chose.
// Left on them, the hold took less of the node in the probes of later
// estimates (Alloc skips a GPU already taken) and those found room it
// needs. A hold that finds no other GPU stays as it is.
func (p *pass) rehold(end model.Time, n int, gpus []int) {
	nd := &p.c.Nodes[n]
	var took uint64
	for _, g := range gpus {
		if g >= 0 && g < nd.NGPU {
			took |= 1 << g
		}
	}
	for hi := range p.holds {
		h := &p.holds[hi]
		if h.start >= end || took == 0 {
			continue
		}
		var mine uint64 // the GPUs h chose on n
		for _, m := range h.masks {
			if int(m.node) == n {
				mine |= m.gpus
			}
		}
		if mine&took == 0 {
			continue
		}
		spare := p.freeBy(n, h.start) &^ took
		for k := range p.holds { // none another overlapping hold chose, nor h's own
			if o := &p.holds[k]; o.start < h.end && o.end > h.start {
				for _, m := range o.masks {
					if int(m.node) == n {
						spare &^= m.gpus
					}
				}
			}
		}
		slots := make([]place.Slot, len(h.slots)) // the estimate's slots may be shared
		for i, s := range h.slots {
			slots[i] = place.Slot{Node: s.Node, GPUs: append([]int(nil), s.GPUs...)}
			if s.Node != n {
				continue
			}
			for x, g := range slots[i].GPUs {
				if g >= 0 && g < 64 && took&(1<<g) != 0 && spare != 0 {
					ng := bits.TrailingZeros64(spare)
					spare &^= 1 << ng
					slots[i].GPUs[x] = ng
				}
			}
			slices.Sort(slots[i].GPUs)
		}
		h.slots, h.masks = slots, heldMasks(p.c, slots)
	}
}

// freeBy is the GPUs of node n free now or released by at.
func (p *pass) freeBy(n int, at model.Time) uint64 {
	nd := &p.c.Nodes[n]
	all := uint64(1)<<nd.NGPU - 1
	if nd.NGPU >= 64 {
		all = ^uint64(0)
	}
	free := all &^ nd.Busy
	for i := range p.releases {
		r := &p.releases[i]
		if r.at > at {
			continue
		}
		for k, pl := range r.reps {
			if m, ok := p.releaseNode(r, k); ok && m == n {
				for _, g := range pl.GPUs {
					if g >= 0 && g < nd.NGPU {
						free |= 1 << g
					}
				}
			}
		}
	}
	return free
}

// roomScratch is memory roomUnderHolds reuses, kept from pass to pass:
// by node the GPUs the holds would take, by site, hall and rack the watts
// they would add, and the indices touched, to clear them again.
type roomScratch struct {
	taken                  []uint64
	nodes                  []int32
	siteW, hallW, rackW    []float64
	sites, halls, racks    []int32
	siteOn, hallOn, rackOn []bool
}

// powerSlack is how far beyond a container's headroom roomUnderHolds
// still counts a node as possibly powered. It adds the holds' watts in
// another order than the probe does (a node's GPUs at once, not one by
// one); the rounding that can differ is some 1e-8 W per addition at tens
// of megawatts, far below 1 W.
const powerSlack = 1.0

// roomUnderHolds reports whether req may fit on the timeline's cluster at
// at once those of holds overlapping [at, end) are applied, as probe
// would apply them (none: nil): it counts, on each node of req's pools
// that is up and whose site, hall and rack would still have the
// request's minimum watts of headroom, how many replicas its free GPUs left by the holds could take,
// and answers false only when they are fewer than req's replicas. Every
// other constraint is left to Find, so false is certain and true is a
// maybe; earliest probes only the maybes. It changes nothing.
func (p *pass) roomUnderHolds(req *place.Request, holds []hold, at, end model.Time) bool {
	g := req.GPUs
	if g <= 0 || req.Replicas <= 0 {
		return true
	}
	c := p.c
	hr := p.roomScratch()
	defer hr.reset()
	for _, h := range holds {
		if h.start >= end || h.end <= at {
			continue
		}
		for _, m := range h.masks {
			nd := &c.Nodes[m.node]
			gpus := m.gpus &^ (nd.Busy | hr.taken[m.node]) // Alloc skips a GPU already taken
			if gpus == 0 {
				continue
			}
			if hr.taken[m.node] == 0 {
				hr.nodes = append(hr.nodes, m.node)
			}
			hr.taken[m.node] |= gpus
			if m.w != 0 { // 0 on a nameplate node, where Alloc adds no load
				hr.addW(nd, float64(bits.OnesCount64(gpus))*m.w)
			}
		}
	}
	powered := func(nd *place.Node) bool {
		w := req.MinWattsPerReplica
		if !c.PowerOn || w <= 0 {
			return true
		}
		ok := func(pw []place.Power, add []float64, i int) bool {
			return i < 0 || pw[i].LimitW <= 0 || pw[i].LimitW-(pw[i].LoadW+add[i]) >= w-powerSlack
		}
		return ok(c.Sites, hr.siteW, nd.Site) && ok(c.Halls, hr.hallW, nd.Hall) && ok(c.Racks, hr.rackW, nd.Rack)
	}
	fit := 0
	for pi := range c.Pools {
		pool := &c.Pools[pi]
		if pool.Model != req.Model || (req.Sites != nil && !req.Sites[pool.Site]) {
			continue
		}
		for _, n := range pool.Nodes {
			nd := &c.Nodes[n]
			free := nd.Free - bits.OnesCount64(hr.taken[n])
			if !nd.Up || free < g || !powered(nd) {
				continue
			}
			if fit += free / g; fit >= req.Replicas {
				return true
			}
		}
	}
	return false
}

func (p *pass) roomScratch() *roomScratch {
	c := p.c
	hr := p.prep.room
	if hr == nil || len(hr.taken) != len(c.Nodes) || len(hr.siteW) != len(c.Sites) ||
		len(hr.hallW) != len(c.Halls) || len(hr.rackW) != len(c.Racks) {
		hr = &roomScratch{taken: make([]uint64, len(c.Nodes)),
			siteW: make([]float64, len(c.Sites)), siteOn: make([]bool, len(c.Sites)),
			hallW: make([]float64, len(c.Halls)), hallOn: make([]bool, len(c.Halls)),
			rackW: make([]float64, len(c.Racks)), rackOn: make([]bool, len(c.Racks))}
		p.prep.room = hr
	}
	return hr
}

// addW adds w to the containers of nd.
func (hr *roomScratch) addW(nd *place.Node, w float64) {
	add := func(i int, sum []float64, on []bool, list *[]int32) {
		if i < 0 {
			return
		}
		if !on[i] {
			on[i] = true
			*list = append(*list, int32(i))
		}
		sum[i] += w
	}
	add(nd.Site, hr.siteW, hr.siteOn, &hr.sites)
	add(nd.Hall, hr.hallW, hr.hallOn, &hr.halls)
	add(nd.Rack, hr.rackW, hr.rackOn, &hr.racks)
}

// reset clears what the last call touched.
func (hr *roomScratch) reset() {
	for _, n := range hr.nodes {
		hr.taken[n] = 0
	}
	clearW := func(list []int32, sum []float64, on []bool) []int32 {
		for _, i := range list {
			sum[i], on[i] = 0, false
		}
		return list[:0]
	}
	hr.nodes = hr.nodes[:0]
	hr.sites = clearW(hr.sites, hr.siteW, hr.siteOn)
	hr.halls = clearW(hr.halls, hr.hallW, hr.hallOn)
	hr.racks = clearW(hr.racks, hr.rackW, hr.rackOn)
}
