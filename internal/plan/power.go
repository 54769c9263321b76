package plan

import (
	"github.com/carnot-dc/carnot/internal/model"
)

// Load is IT power in watts by site, hall and rack ID. Every site, hall
// and rack of the facility has an entry, zero when nothing draws power.
type Load struct {
	Site map[string]float64
	Hall map[string]float64
	Rack map[string]float64
}

// PowerW returns the IT load of the facility once the plan's starts run
// alongside every running allocation (terminating ones included: they
// hold their GPUs until eviction), and its recaps have changed the caps
// of the jobs they name (raised, or lowered to give lent power back). A
// nil plan gives the current load.
//
// The formula, shared by Verify, the core and the drivers:
//
//	load(node) = BaseWatts + Σ_gpu draw(gpu)          whatever its condition
//	draw(gpu)  = TDPWatts of the node's model         if the node is unreachable
//	           = IdleWatts of the node's model        if no replica holds it
//	           = PowerCapW of the holding placement   if that is > 0
//	           = TDPWatts of the node's model         otherwise
//
// where the holding placement's PowerCapW is, for a running job the plan
// recaps, the PowerCapW of its (first) recap: every replica of the job
// runs at that cap, or uncapped when it is 0, whether that raises or
// lowers what it draws (Placement.StartCapW plays no part).
//
// An unreachable node (model.NodeUnreachable: a partition) may still run
// what it ran, whatever the snapshot says, so it counts at nameplate.
// A node that is down counts too: it comes back (a repair, an agent that
// registers again, a partition that heals) drawing at least its base and
// idle power without the core having a say, so that share stays
// reserved, as the facility validator's idle-draw check assumes.
// A site's, hall's or rack's load is the sum over its nodes. A node whose
// GPU model is missing from the catalog draws only its BaseWatts. The
// envelope a site's load is compared with is PowerEnvelopeKW × 1000; halls
// and racks compare with PowerCapKW × 1000 when that is above zero. PUE
// is not applied: these are IT watts.
func PowerW(snap *model.Snapshot, p *model.Plan) Load {
	return newIndex(snap).load(snap, p)
}

// SitePowerW returns the IT load in watts by site ID; see PowerW.
func SitePowerW(snap *model.Snapshot, p *model.Plan) map[string]float64 {
	return PowerW(snap, p).Site
}

// HallPowerW returns the IT load in watts by hall ID; see PowerW.
func HallPowerW(snap *model.Snapshot, p *model.Plan) map[string]float64 {
	return PowerW(snap, p).Hall
}

// RackPowerW returns the IT load in watts by rack ID; see PowerW.
func RackPowerW(snap *model.Snapshot, p *model.Plan) map[string]float64 {
	return PowerW(snap, p).Rack
}

func (x *index) load(snap *model.Snapshot, p *model.Plan) Load {
	draw := x.gpuDraw(snap, p)
	l := Load{
		Site: make(map[string]float64, len(x.fac.Sites)),
		Hall: make(map[string]float64, len(x.fac.Halls)),
		Rack: make(map[string]float64, len(x.fac.Racks)),
	}
	for _, s := range x.fac.Sites {
		l.Site[s.ID] = 0
	}
	for _, h := range x.fac.Halls {
		l.Hall[h.ID] = 0
	}
	for _, r := range x.fac.Racks {
		l.Rack[r.ID] = 0
	}
	for i := range x.fac.Nodes {
		n := &x.fac.Nodes[i]
		w := x.nodeW(n, draw[n.Name])
		l.Site[n.Site] += w
		l.Hall[n.Hall] += w
		l.Rack[n.Rack] += w
	}
	return l
}

// nodeW is the formula of PowerW for one node; busy[g] is the draw of GPU
// g when a replica holds it and negative otherwise (nil: none held).
func (x *index) nodeW(n *model.Node, busy []float64) float64 {
	m := x.models[n.GPUModel]
	w := n.BaseWatts
	if x.condition(n.Name) == model.NodeUnreachable {
		return w + float64(n.GPUs)*float64(m.TDPWatts)
	}
	for g := 0; g < n.GPUs; g++ {
		if g < len(busy) && busy[g] >= 0 {
			w += busy[g]
		} else {
			w += float64(m.IdleWatts)
		}
	}
	return w
}

// gpuDraw maps node → draw of each GPU (negative: not held). Running
// allocations come first; a GPU held twice (an invalid plan) counts once.
func (x *index) gpuDraw(snap *model.Snapshot, p *model.Plan) map[string][]float64 {
	g := gpuDraws{x: x, draw: map[string][]float64{}}
	recaps := recapCaps(p)
	for _, a := range snap.Running {
		rcap, recapped := 0, false
		if a.Job != nil {
			rcap, recapped = recaps[a.Job.ID]
		}
		g.add(a.Replicas, rcap, recapped)
	}
	if p != nil {
		for _, s := range p.Starts {
			g.add(s.Replicas, 0, false)
		}
	}
	return g.draw
}

// gpuDraws accumulates the draw of each held GPU by node.
type gpuDraws struct {
	x     *index
	draw  map[string][]float64
	arena []float64
}

// add records the draw of placements pls; with recapped, they draw
// rcap's watts (a plan's recap) instead of their own cap's.
func (g *gpuDraws) add(pls []model.Placement, rcap int, recapped bool) {
	for _, pl := range pls {
		n, ok := g.x.nodes[pl.Node]
		if !ok {
			continue
		}
		d := g.draw[pl.Node]
		if d == nil {
			d = g.fresh(n.GPUs)
			g.draw[pl.Node] = d
		}
		c := pl.PowerCapW
		if recapped {
			c = rcap
		}
		w := capW(c, float64(g.x.models[n.GPUModel].TDPWatts))
		for _, i := range pl.GPUs {
			if i >= 0 && i < n.GPUs && d[i] < 0 {
				d[i] = w
			}
		}
	}
}

// fresh returns k GPUs' draws, none held, cut from a shared arena.
func (g *gpuDraws) fresh(k int) []float64 {
	if len(g.arena) < k {
		g.arena = make([]float64, max(256, k))
	}
	d := g.arena[:k:k]
	g.arena = g.arena[k:]
	for i := range d {
		d[i] = -1
	}
	return d
}
