package scenario

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
)

// NameplateW is each site's nameplate IT power in watts: every node's
// base power plus its GPUs at TDP.
func NameplateW(f *model.Facility) map[string]float64 {
	out := map[string]float64{}
	for _, n := range f.Nodes {
		out[n.Site] += f.NodeWatts(&n, true)
	}
	return out
}

// apply returns a copy of base with the variant's equipment; base is not
// modified. The error says why the variant cannot be built.
func (fv FacilityVariant) apply(base *model.Facility) (*model.Facility, error) {
	f := clone(base)
	if fv.GPUScale != 1 && fv.GPUScale > 0 {
		if err := scaleGPUs(f, fv.GPUScale); err != nil {
			return nil, err
		}
	}
	if fv.EnvelopeFraction > 0 {
		plate := NameplateW(base)
		for i := range f.Sites {
			s := &f.Sites[i]
			s.PowerEnvelopeKW = math.Round(fv.EnvelopeFraction*plate[s.ID]) / 1000
			for h := range f.Halls {
				if f.Halls[h].Site == s.ID && f.Halls[h].PowerCapKW > s.PowerEnvelopeKW {
					capHall(f, &f.Halls[h], s.PowerEnvelopeKW)
				}
			}
		}
	}
	for _, pc := range fv.PowerCaps {
		if err := setCap(f, pc); err != nil {
			return nil, capError{pc, err}
		}
	}
	idle := map[string]float64{}
	for _, n := range f.Nodes {
		idle[n.Site] += f.NodeWatts(&n, false)
	}
	for _, s := range f.Sites {
		if s.PowerEnvelopeKW > 0 && idle[s.ID] > s.PowerEnvelopeKW*1000 {
			return nil, fmt.Errorf("site %s idles at %.1f kW, above its %.1f kW envelope; raise envelope_fraction or lower gpu_scale",
				s.ID, idle[s.ID]/1000, s.PowerEnvelopeKW)
		}
	}
	return f, nil
}

// capError is a power cap a variant cannot set, with the cap for its
// line in the scenario set.
type capError struct {
	pc  PowerCap
	err error
}

func (e capError) Error() string { return e.err.Error() }

// setCap sets the site envelope or hall or rack cap pc names, with the
// facility file's rules: a hall's cap at most its site's envelope (a new
// envelope lowers the caps above it, as envelope_fraction does) and at
// least its idle draw, a rack's at most its hall's (a new hall cap
// lowers the rack caps above it) and at least its idle draw.
func setCap(f *model.Facility, pc PowerCap) error {
	if i := slices.IndexFunc(f.Sites, func(s model.Site) bool { return s.ID == pc.ID }); i >= 0 {
		f.Sites[i].PowerEnvelopeKW = pc.KW
		for h := range f.Halls {
			if f.Halls[h].Site == pc.ID && f.Halls[h].PowerCapKW > pc.KW {
				capHall(f, &f.Halls[h], pc.KW)
			}
		}
		return nil
	}
	if i := slices.IndexFunc(f.Halls, func(h model.Hall) bool { return h.ID == pc.ID }); i >= 0 {
		h := &f.Halls[i]
		for _, s := range f.Sites {
			if s.ID == h.Site && s.PowerEnvelopeKW > 0 && pc.KW > s.PowerEnvelopeKW {
				return fmt.Errorf("hall %s at %g kW is above its site %s's envelope of %g kW", pc.ID, pc.KW, s.ID, s.PowerEnvelopeKW)
			}
		}
		if idle := idleW(f, func(n *model.Node) bool { return n.Hall == pc.ID }); idle > pc.KW*1000 {
			return fmt.Errorf("hall %s idles at %.1f kW, above %g kW", pc.ID, idle/1000, pc.KW)
		}
		capHall(f, h, pc.KW)
		return nil
	}
	if i := slices.IndexFunc(f.Racks, func(r model.Rack) bool { return r.ID == pc.ID }); i >= 0 {
		r := &f.Racks[i]
		for _, h := range f.Halls {
			if h.ID == r.Hall && h.PowerCapKW > 0 && pc.KW > h.PowerCapKW {
				return fmt.Errorf("rack %s at %g kW is above its hall %s's cap of %g kW", pc.ID, pc.KW, h.ID, h.PowerCapKW)
			}
		}
		if idle := idleW(f, func(n *model.Node) bool { return n.Rack == pc.ID }); idle > pc.KW*1000 {
			return fmt.Errorf("rack %s idles at %.1f kW, above %g kW", pc.ID, idle/1000, pc.KW)
		}
		r.PowerCapKW = pc.KW
		return nil
	}
	var ids []string
	for _, s := range f.Sites {
		ids = append(ids, s.ID)
	}
	for _, h := range f.Halls {
		ids = append(ids, h.ID)
	}
	return fmt.Errorf("no site, hall or rack %q in the facility (sites and halls: %s; racks are named site/hall/rack)", pc.ID, strings.Join(ids, ", "))
}

// capHall sets h's cap to kw and lowers the caps of its racks above it
// to it, as a site's envelope lowers its halls' (the racks' idle draw,
// part of the hall's, is below it when the hall's is).
func capHall(f *model.Facility, h *model.Hall, kw float64) {
	h.PowerCapKW = kw
	for r := range f.Racks {
		if rk := &f.Racks[r]; rk.Hall == h.ID && rk.PowerCapKW > kw {
			rk.PowerCapKW = kw
		}
	}
}

// idleW is the draw of the nodes of f that in says, every GPU idle.
func idleW(f *model.Facility, in func(*model.Node) bool) float64 {
	w := 0.0
	for i := range f.Nodes {
		if in(&f.Nodes[i]) {
			w += f.NodeWatts(&f.Nodes[i], false)
		}
	}
	return w
}

// clone copies everything a variant or a run could write to.
func clone(f *model.Facility) *model.Facility {
	c := *f
	c.GPUModels = maps.Clone(f.GPUModels)
	c.Sites = slices.Clone(f.Sites)
	c.Halls = slices.Clone(f.Halls)
	c.Racks = slices.Clone(f.Racks)
	c.Nodes = slices.Clone(f.Nodes)
	c.PriorityClasses = slices.Clone(f.PriorityClasses)
	c.DataClasses = maps.Clone(f.DataClasses)
	c.Tenants = slices.Clone(f.Tenants)
	for i := range c.Tenants {
		c.Tenants[i].Quota = maps.Clone(c.Tenants[i].Quota)
	}
	c.Cohorts = slices.Clone(f.Cohorts)
	for i := range c.Cohorts {
		c.Cohorts[i].Quota = maps.Clone(c.Cohorts[i].Quota)
	}
	return &c
}

// scaleGPUs multiplies the GPU nodes of every (site, model) group by s,
// rounding to whole nodes: added nodes copy the group's nodes in turn,
// removed ones are the group's last. A copy of a node that is its own
// NVLink domain is its own; the copies, in one round, of the nodes of a
// larger domain (a rack-scale system) form a new domain of their own,
// so that such a domain is added whole (see newDomains).
// Racks and halls scale their power caps and cooling with their
// nameplate; quotas scale with each model's GPUs.
func scaleGPUs(f *model.Facility, s float64) error {
	type key struct{ site, model string }
	groups := map[key][]int{}
	var order []key
	for i, n := range f.Nodes {
		if n.GPUs <= 0 {
			continue
		}
		k := key{n.Site, n.GPUModel}
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	sizes := make([]groupSize, len(order))
	for i, k := range order {
		sizes[i] = groupSize{k.site, k.model, len(groups[k])}
	}
	if err := scaleChanges(sizes, s); err != nil {
		return err
	}
	before := gpusByModel(f)
	rackW, hallW := powerBy(f)
	names := map[string]bool{}
	for _, n := range f.Nodes {
		names[n.Name] = true
	}
	drop := map[int]bool{}
	domains := newDomains(f)
	for _, k := range order {
		idx := groups[k]
		want := int(math.Round(float64(len(idx)) * s))
		if want == 0 {
			return fmt.Errorf("gpu_scale %g leaves site %s without %s nodes (it has %d)", s, k.site, k.model, len(idx))
		}
		for i := len(idx) - 1; i >= want; i-- {
			drop[idx[i]] = true
		}
		for i := len(idx); i < want; i++ {
			n := f.Nodes[idx[i%len(idx)]]
			own := n.NVLinkDomain == "" || n.NVLinkDomain == n.Name
			for c := 1; ; c++ {
				name := n.Name + "-x" + strconv.Itoa(c)
				if !names[name] && (!own || !domains.taken[name]) {
					n.Name, names[name] = name, true
					break
				}
			}
			if own {
				n.NVLinkDomain, domains.taken[n.Name] = n.Name, true
			} else {
				n.NVLinkDomain = domains.copyOf(n.NVLinkDomain, i/len(idx))
			}
			f.Nodes = append(f.Nodes, n)
		}
	}
	kept := make([]model.Node, 0, len(f.Nodes))
	for i, n := range f.Nodes {
		if !drop[i] {
			kept = append(kept, n)
		}
	}
	f.Nodes = kept
	rackAfter, hallAfter := powerBy(f)
	for i := range f.Racks {
		r := &f.Racks[i]
		if old := rackW[r.ID]; old > 0 {
			r.PowerCapKW *= rackAfter[r.ID] / old
			r.CoolingCapacityKW *= rackAfter[r.ID] / old
		}
	}
	for i := range f.Halls {
		h := &f.Halls[i]
		if old := hallW[h.ID]; old > 0 {
			h.PowerCapKW *= hallAfter[h.ID] / old
			h.CoolingCapacityKW *= hallAfter[h.ID] / old
		}
	}
	scaleQuotas(f, before, gpusByModel(f))
	return nil
}

// groupSize is the GPU nodes of one site and GPU model.
type groupSize struct {
	site, model string
	nodes       int
}

// scaleChanges is the error of a gpu_scale s that changes no group's
// node count, which would run the base facility under the variant's
// name: it names the largest group, the first to change, and the scale
// from which it does.
func scaleChanges(groups []groupSize, s float64) error {
	var big groupSize
	for _, g := range groups {
		if int(math.Round(float64(g.nodes)*s)) != g.nodes {
			return nil
		}
		if g.nodes > big.nodes {
			big = g
		}
	}
	if big.nodes == 0 {
		return nil // no GPU node: nothing to scale
	}
	n := float64(big.nodes)
	hint := fmt.Sprintf("a scale of at least %g adds a node", (n+0.5)/n)
	if s < 1 {
		hint = fmt.Sprintf("a scale below %g removes a node", (n-0.5)/n)
	}
	return fmt.Errorf("gpu_scale %g changes no node count (site %s: %d %s nodes × %g round to %d); %s",
		s, big.site, big.nodes, big.model, s, big.nodes, hint)
}

// domains names the NVLink domains gpu_scale adds: the copy, in round
// r (1 for the first copy of every node of the group), of domain d is
// d-xr, or the first d-xN after it that names no domain of the facility.
type domains struct {
	taken  map[string]bool
	copies map[domainCopy]string
}

type domainCopy struct {
	domain string
	round  int
}

func newDomains(f *model.Facility) *domains {
	d := &domains{taken: map[string]bool{}, copies: map[domainCopy]string{}}
	for _, n := range f.Nodes {
		d.taken[n.NVLinkDomain] = true
		d.taken[n.Name] = true // a node's own domain, as a copy names it
	}
	return d
}

func (d *domains) copyOf(domain string, round int) string {
	k := domainCopy{domain, round}
	if name, ok := d.copies[k]; ok {
		return name
	}
	for c := round; ; c++ {
		name := domain + "-x" + strconv.Itoa(c)
		if !d.taken[name] {
			d.taken[name], d.copies[k] = true, name
			return name
		}
	}
}

func gpusByModel(f *model.Facility) map[string]int {
	out := map[string]int{}
	for _, n := range f.Nodes {
		out[n.GPUModel] += max(0, n.GPUs)
	}
	return out
}

func powerBy(f *model.Facility) (rack, hall map[string]float64) {
	rack, hall = map[string]float64{}, map[string]float64{}
	for _, n := range f.Nodes {
		w := f.NodeWatts(&n, true)
		rack[n.Rack] += w
		hall[n.Hall] += w
	}
	return rack, hall
}

// scaleQuotas scales every quota of a model by how its GPUs grew.
func scaleQuotas(f *model.Facility, before, after map[string]int) {
	scale := func(q map[string]model.Quota) {
		for m, v := range q {
			if before[m] == 0 {
				continue
			}
			r := float64(after[m]) / float64(before[m])
			v.Nominal = int(math.Floor(float64(v.Nominal)*r + 1e-9))
			v.BorrowingLimit = scaled(v.BorrowingLimit, r)
			v.LendingLimit = scaled(v.LendingLimit, r)
			q[m] = v
		}
	}
	for i := range f.Tenants {
		scale(f.Tenants[i].Quota)
	}
	for i := range f.Cohorts {
		scale(f.Cohorts[i].Quota)
	}
}

func scaled(p *int, r float64) *int {
	if p == nil {
		return nil
	}
	v := int(math.Floor(float64(*p)*r + 1e-9))
	return &v
}
