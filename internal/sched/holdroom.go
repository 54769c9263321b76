package sched

import (
	"math/bits"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/place"
)

// holdRoom is scratch memory for roomUnderHolds, kept from pass to pass:
// by node the GPUs the holds would take, by site, hall and rack the watts
// they would add, and the indices touched, to clear them again.
type holdRoom struct {
	taken                []uint64
	nodes                []int32
	siteW, hallW, rackW  []float64
	sites, halls, racks  []int32
	siteOn, hallOn, rack []bool
}

// powerSlack is how far beyond a container's headroom roomUnderHolds
// still counts a node as possibly powered. It adds the holds' watts in
// another order than the probe does; the rounding that can differ is
// some 1e-8 W per addition at tens of megawatts, far below 1 W.
const powerSlack = 1.0

// roomUnderHolds reports whether req may fit on the timeline's cluster at
// at once the holds overlapping [at, end) are applied, as probe would
// apply them: it counts, on each node of req's pools that is up and whose
// site, hall and rack would still have the request's minimum watts of
// headroom, how many replicas its free GPUs left by the holds could take,
// and answers false only when they are fewer than req's replicas. Every
// other constraint is left to Find, so false is certain and true is a
// maybe; the step search probes only the maybes. It changes nothing.
func (p *pass) roomUnderHolds(req *place.Request, at, end model.Time) bool {
	g := req.GPUs
	if g <= 0 || req.Replicas <= 0 {
		return true
	}
	c := p.c
	hr := p.holdRoomScratch()
	defer hr.reset()
	for _, h := range p.holds {
		if h.start >= end || h.end <= at {
			continue
		}
		for _, s := range h.slots {
			nd := &c.Nodes[s.Node]
			for _, gpu := range s.GPUs {
				if gpu < 0 || gpu >= nd.NGPU || (nd.Busy|hr.taken[s.Node])&(1<<gpu) != 0 {
					continue // Alloc skips a GPU already taken
				}
				m := uint64(1) << gpu
				if hr.taken[s.Node] == 0 {
					hr.nodes = append(hr.nodes, int32(s.Node))
				}
				hr.taken[s.Node] |= m
				if nd.Model >= 0 {
					hr.addW(nd, c.GPUWatts(nd.Model, 0)-float64(c.Models[nd.Model].IdleWatts))
				}
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

func (p *pass) holdRoomScratch() *holdRoom {
	c := p.c
	hr := p.prep.holdRoom
	if hr == nil || len(hr.taken) != len(c.Nodes) || len(hr.siteW) != len(c.Sites) ||
		len(hr.hallW) != len(c.Halls) || len(hr.rackW) != len(c.Racks) {
		hr = &holdRoom{taken: make([]uint64, len(c.Nodes)),
			siteW: make([]float64, len(c.Sites)), siteOn: make([]bool, len(c.Sites)),
			hallW: make([]float64, len(c.Halls)), hallOn: make([]bool, len(c.Halls)),
			rackW: make([]float64, len(c.Racks)), rack: make([]bool, len(c.Racks))}
		p.prep.holdRoom = hr
	}
	return hr
}

// addW adds w to the containers of nd.
func (hr *holdRoom) addW(nd *place.Node, w float64) {
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
	add(nd.Rack, hr.rackW, hr.rack, &hr.racks)
}

// reset clears what the last call touched.
func (hr *holdRoom) reset() {
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
	hr.racks = clearW(hr.racks, hr.rackW, hr.rack)
}
