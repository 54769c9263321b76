package sim

import (
	"math"
	"sort"

	"github.com/carnot-dc/carnot/internal/model"
)

// The energy ledger integrates power over virtual time. Between two
// events nothing changes, so power is constant and energy is power ×
// time; prices and carbon intensities change on the hour, so each
// interval is cut at hour boundaries when priced.
//
// Power model (the same IT-load model the core uses for the envelope,
// with utilisation): a busy GPU draws min(cap, TDP × Utilization) (TDP
// when uncapped); a free GPU draws its idle power; every node draws its
// base power. A job is charged its GPUs' power plus the share of its
// nodes' base power that its GPUs are of the node's; everything else is
// idle energy. So jobs' energy + idle energy = site IT energy, by
// construction; facility energy is IT energy × the site's PUE.

// Energy is an amount of energy with its cost and carbon.
type Energy struct {
	ITkWh       float64
	FacilitykWh float64 // × PUE
	CostEUR     float64
	CarbonKg    float64
	// UnpricedkWh is the part of FacilitykWh drawn in hours that the
	// site's grid series does not hold (all of it without a series):
	// CostEUR and CarbonKg leave it out.
	UnpricedkWh float64
}

func (e *Energy) add(o Energy) {
	e.ITkWh += o.ITkWh
	e.FacilitykWh += o.FacilitykWh
	e.CostEUR += o.CostEUR
	e.CarbonKg += o.CarbonKg
	e.UnpricedkWh += o.UnpricedkWh
}

type siteInfo struct {
	pue      float64
	grid     *model.GridSeries
	staticW  float64 // base power of every node and idle power of every GPU
	busyW    float64 // running jobs' draw above idle
	chargedW float64 // what running jobs are charged (busy + shares)
	all      Energy  // the whole site, integrated event by event
	idle     Energy  // what no job is charged for, integrated event by event
	jobs     Energy  // charged to jobs, priced per job over its run
	maxW     float64
}

// hallInfo is a hall's (or a capped rack's) draw: its nodes' static
// power, the running jobs' draw above idle on them, and the highest sum
// so far.
type hallInfo struct {
	staticW, busyW, maxW float64
	dirty                bool // a rack's draw changed since the last advance
}

// ledger tracks who draws what between events. A running job's draw is
// constant, so its energy is priced once, over its whole run, when it
// stops; the sites are integrated event by event.
type ledger struct {
	t     *twin
	last  model.Time
	sites map[string]*siteInfo
	ids   []string // site IDs, sorted
	halls map[string]*hallInfo
	racks map[string]*hallInfo // the racks with a power cap only
	// changed are the racks whose draw changed since the last advance:
	// a facility can have thousands of capped racks, and advance looks
	// only at these (the others' draw it has measured already).
	changed []*hallInfo
	nodes   map[string]*model.Node
	jobs    map[*jobState]*jobPower
	tenants map[string]*Energy
}

// jobPower is a running job's constant draw, by site.
type jobPower struct {
	since  model.Time
	sites  []siteDraw // by site ID
	halls  []hallDraw // in the order of its replicas' halls
	racks  []hallDraw // in the order of its replicas' capped racks
	capped bool
}

// hallDraw is what a running job draws above idle in one hall (or one
// capped rack).
type hallDraw struct {
	hall string
	busy float64
}

// siteDraw is what a running job draws at one site.
type siteDraw struct {
	site   string
	busy   float64 // above idle, what the site draws more
	charge float64 // busy + its share of its nodes' idle and base power
	gpus   int
}

// at returns the job's entry for site, adding it if needed.
func (jp *jobPower) at(site string) *siteDraw {
	for i := range jp.sites {
		if jp.sites[i].site == site {
			return &jp.sites[i]
		}
	}
	jp.sites = append(jp.sites, siteDraw{site: site})
	return &jp.sites[len(jp.sites)-1]
}

// drawAt is the job's draw in hall (or rack) id of ds, added when new
// (its replicas sit in few halls: one entry each, not one per replica).
func drawAt(ds *[]hallDraw, id string) *hallDraw {
	for i := range *ds {
		if (*ds)[i].hall == id {
			return &(*ds)[i]
		}
	}
	*ds = append(*ds, hallDraw{hall: id})
	return &(*ds)[len(*ds)-1]
}

func newLedger(t *twin, start model.Time) *ledger {
	l := &ledger{t: t, last: start, sites: map[string]*siteInfo{}, nodes: map[string]*model.Node{},
		jobs: map[*jobState]*jobPower{}, tenants: map[string]*Energy{}, halls: map[string]*hallInfo{},
		racks: map[string]*hallInfo{}}
	fac := t.cfg.Facility
	for _, r := range fac.Racks {
		if r.PowerCapKW > 0 {
			l.racks[r.ID] = &hallInfo{}
		}
	}
	zones := map[string]*model.GridSeries{}
	for i := range t.cfg.Grid {
		zones[t.cfg.Grid[i].Zone] = &t.cfg.Grid[i]
	}
	for _, s := range fac.Sites {
		l.sites[s.ID] = &siteInfo{pue: math.Max(1, s.PUE), grid: zones[s.GridZone]}
		l.ids = append(l.ids, s.ID)
	}
	sort.Strings(l.ids)
	for i := range fac.Nodes {
		n := &fac.Nodes[i]
		l.nodes[n.Name] = n
		w := fac.NodeWatts(n, false)
		if si := l.sites[n.Site]; si != nil {
			si.staticW += w
		}
		if n.Hall != "" {
			if l.halls[n.Hall] == nil {
				l.halls[n.Hall] = &hallInfo{}
			}
			l.halls[n.Hall].staticW += w
		}
		if ri := l.racks[n.Rack]; ri != nil {
			ri.staticW += w
		}
	}
	for _, si := range l.sites {
		si.maxW = si.staticW // the draw at the start, nothing running: a run of no length peaks there
	}
	for _, hi := range l.halls {
		hi.maxW = hi.staticW
	}
	for _, ri := range l.racks {
		ri.maxW = ri.staticW
	}
	return l
}

// gpuWatts is the draw of one busy GPU of model m at cap (0 = uncapped).
func (l *ledger) gpuWatts(m model.GPUModel, capW int) float64 {
	w := float64(m.TDPWatts) * l.t.cfg.Utilization
	if capW > 0 {
		w = math.Min(w, float64(capW))
	}
	return math.Max(w, float64(m.IdleWatts))
}

// advance integrates every site's draw from the last event to now.
func (l *ledger) advance(now model.Time) {
	if now <= l.last {
		return
	}
	for _, id := range l.ids {
		si := l.sites[id]
		w := si.staticW + si.busyW
		si.maxW = math.Max(si.maxW, w)
		si.all.add(l.price(si, w, l.last, now))
		si.idle.add(l.price(si, w-si.chargedW, l.last, now))
	}
	for _, hi := range l.halls {
		hi.maxW = math.Max(hi.maxW, hi.staticW+hi.busyW)
	}
	for _, ri := range l.changed {
		ri.maxW = math.Max(ri.maxW, ri.staticW+ri.busyW)
		ri.dirty = false
	}
	l.changed = l.changed[:0]
	l.last = now
}

func (l *ledger) started(js *jobState, now model.Time) {
	jp := &jobPower{since: now}
	fac := l.t.cfg.Facility
	for _, r := range js.alloc.Replicas {
		n := l.nodes[r.Node]
		if n == nil {
			continue
		}
		m := fac.GPUModels[n.GPUModel]
		busy := float64(len(r.GPUs)) * (l.gpuWatts(m, r.PowerCapW) - float64(m.IdleWatts))
		share := 0.0
		if n.GPUs > 0 {
			share = float64(len(r.GPUs)) / float64(n.GPUs) * (n.BaseWatts + float64(n.GPUs*m.IdleWatts))
		}
		d := jp.at(n.Site)
		d.busy += busy
		d.charge += busy + share
		d.gpus += len(r.GPUs)
		jp.capped = jp.capped || r.PowerCapW > 0
		if l.halls[n.Hall] != nil {
			drawAt(&jp.halls, n.Hall).busy += busy
		}
		if l.racks[n.Rack] != nil {
			drawAt(&jp.racks, n.Rack).busy += busy
		}
	}
	for _, d := range jp.halls { // added as stopped takes them back
		l.halls[d.hall].busyW += d.busy
	}
	for _, d := range jp.racks {
		l.rackAdd(l.racks[d.hall], d.busy)
	}
	if len(jp.sites) > 1 {
		sort.Slice(jp.sites, func(a, b int) bool { return jp.sites[a].site < jp.sites[b].site })
	}
	for _, d := range jp.sites {
		if si := l.sites[d.site]; si != nil {
			si.busyW += d.busy
			si.chargedW += d.charge
		}
	}
	l.jobs[js] = jp
}

func (l *ledger) stopped(js *jobState, now model.Time) {
	jp := l.jobs[js]
	if jp == nil {
		return
	}
	delete(l.jobs, js)
	for _, d := range jp.halls {
		l.halls[d.hall].busyW -= d.busy
	}
	for _, d := range jp.racks {
		l.rackAdd(l.racks[d.hall], -d.busy)
	}
	for _, d := range jp.sites { // by site ID
		si := l.sites[d.site]
		if si == nil {
			continue
		}
		si.busyW -= d.busy
		si.chargedW -= d.charge
		if now > jp.since {
			js.rec.Runs = append(js.rec.Runs, Stint{Site: d.site, Start: jp.since, End: now, GPUs: d.gpus,
				Capped: jp.capped, Speed: js.speed, BusyW: d.busy, ChargedW: d.charge})
		}
		e := l.price(si, d.charge, jp.since, now)
		js.rec.Energy.add(e)
		si.jobs.add(e)
		l.tenant(js.job.Tenant).add(e)
	}
}

func (l *ledger) tenant(name string) *Energy {
	e := l.tenants[name]
	if e == nil {
		e = &Energy{}
		l.tenants[name] = e
	}
	return e
}

// price is the energy of w watts from a to b at a site, with its cost and
// carbon from the site's hourly series (none without a series).
func (l *ledger) price(si *siteInfo, w float64, a, b model.Time) Energy {
	var e Energy
	// A span longer than longSpan (a job slowed to a crawl, whose end lies
	// ages ahead) is priced hour by hour only where the series has hours:
	// the rest is unpriced, in one step, so that it takes no time.
	if b-a > longSpan {
		lo, hi := seriesSpan(si.grid)
		for _, part := range [][2]model.Time{{a, min(b, max(a, lo))}, {max(a, min(b, hi)), b}} {
			if kwh := w * float64(part[1]-part[0]) / 3.6e6; part[1] > part[0] {
				e.ITkWh += kwh
				e.FacilitykWh += kwh * si.pue
				e.UnpricedkWh += kwh * si.pue
			}
		}
		a, b = max(a, min(b, lo)), min(b, max(a, hi))
	}
	for t := a; t < b; {
		end := min(b, (t/3600+1)*3600)
		kwh := w * float64(end-t) / 3.6e6
		e.ITkWh += kwh
		f := kwh * si.pue
		e.FacilitykWh += f
		if h, ok := hourOf(si.grid, t); ok {
			e.CostEUR += f / 1000 * h.PriceEURMWh
			e.CarbonKg += f * h.CarbonGkWh / 1000
		} else {
			e.UnpricedkWh += f
		}
		t = end
	}
	return e
}

// longSpan is the span of one ledger interval past which price no longer
// walks the hours outside the grid series (ten years: no run of real
// jobs comes near it).
const longSpan = 10 * 365 * model.Time(model.Day)

// seriesSpan is [lo, hi), the time a grid series covers (empty without one).
func seriesSpan(gs *model.GridSeries) (lo, hi model.Time) {
	if gs == nil || len(gs.Hours) == 0 {
		return 0, 0
	}
	return gs.Hours[0].Start, gs.Hours[len(gs.Hours)-1].Start + 3600
}

func hourOf(gs *model.GridSeries, t model.Time) (model.GridHour, bool) {
	if gs == nil || len(gs.Hours) == 0 || t < gs.Hours[0].Start {
		return model.GridHour{}, false
	}
	i := int((t - gs.Hours[0].Start) / 3600)
	if i >= len(gs.Hours) {
		return model.GridHour{}, false
	}
	return gs.Hours[i], true
}

// nodeDown and nodeUp take a failed node's base and idle power out of its
// site's draw and put it back (a down node draws nothing, as in the
// core's power formula); the jobs on it have stopped already.
// Each outage is recorded in the result, for the power series rebuilt
// from it (SitePower).
func (l *ledger) nodeDown(node string, now model.Time) {
	if n, w := l.nodeStatic(node, -1); n != nil {
		l.t.res.Outages = append(l.t.res.Outages, Outage{Node: node, Site: n.Site, Start: now, StaticW: w})
	}
}

func (l *ledger) nodeUp(node string, now model.Time) {
	l.nodeStatic(node, 1)
	for i := len(l.t.res.Outages) - 1; i >= 0; i-- {
		if o := &l.t.res.Outages[i]; o.Node == node && o.End == 0 {
			o.End = now
			break
		}
	}
}

// nodeStatic adds sign × the node's base and idle power to its site's
// draw, and returns the node and that power.
func (l *ledger) nodeStatic(node string, sign float64) (*model.Node, float64) {
	n := l.nodes[node]
	if n == nil {
		return nil, 0
	}
	w := l.t.cfg.Facility.NodeWatts(n, false)
	if si := l.sites[n.Site]; si != nil {
		si.staticW += sign * w
	}
	if hi := l.halls[n.Hall]; hi != nil {
		hi.staticW += sign * w
	}
	if ri := l.racks[n.Rack]; ri != nil {
		ri.staticW += sign * w
		l.rackAdd(ri, 0)
	}
	return n, w
}

// rackAdd adds w to a capped rack's busy draw and marks it changed.
func (l *ledger) rackAdd(ri *hallInfo, w float64) {
	ri.busyW += w
	if !ri.dirty {
		ri.dirty = true
		l.changed = append(l.changed, ri)
	}
}
