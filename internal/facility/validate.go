package facility

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/carnot-dc/carnot/internal/model"
)

// check runs the checks that need the whole, flattened facility.
func (b *builder) check(spec *fileSpec, models map[string]model.GPUModel) {
	b.checkPower(models)
	classes := map[string]bool{}
	for _, c := range b.f.PriorityClasses {
		classes[c.Name] = true
	}
	b.checkTenants(spec, classes)
	b.checkCohorts(spec)
	if len(b.f.Nodes) == 0 && len(b.d.errs) == 0 {
		spec.at.errf("sites", "the facility has no nodes; add node groups under sites[].halls[].racks[].nodes")
	}
}

func (b *builder) checkNodes(models map[string]model.GPUModel) {
	seen := make(map[string]int, len(b.f.Nodes))
	badModel := map[*groupSpec]bool{}
	type place struct{ hall, site, model string }
	nvl, leaf, spine := map[string]place{}, map[string]place{}, map[string]place{}
	reported := map[string]bool{}
	for i, n := range b.f.Nodes {
		at := b.nodeAt[i]
		if first, dup := seen[n.Name]; dup {
			b.d.errf(at.line, at.group.at.sub("names"), "node name %q is already defined at line %d; node names must be unique across the facility", n.Name, b.nodeAt[first].line)
			continue
		}
		seen[n.Name] = i
		if _, ok := models[n.GPUModel]; n.GPUModel != "" && !ok && !badModel[at.group] {
			badModel[at.group] = true
			at.group.at.errf("gpu_model", "unknown GPU model %q; known models: %s (define new ones under gpu_models)", n.GPUModel, b.modelList())
		}
		conflict := func(kind, key, why string) {
			if !reported[kind+key] {
				reported[kind+key] = true
				at.group.at.errf(kind, "%s %q of node %s %s; give it a distinct name", kind, key, n.Name, why)
			}
		}
		if p, ok := nvl[n.NVLinkDomain]; !ok {
			nvl[n.NVLinkDomain] = place{hall: n.Hall, model: n.GPUModel}
		} else if p.hall != n.Hall {
			conflict("nvlink_domain", n.NVLinkDomain, "spans halls "+p.hall+" and "+n.Hall)
		} else if p.model != n.GPUModel {
			conflict("nvlink_domain", n.NVLinkDomain, "mixes GPU models "+p.model+" and "+n.GPUModel)
		}
		if p, ok := leaf[n.Leaf]; !ok {
			leaf[n.Leaf] = place{hall: n.Hall}
		} else if p.hall != n.Hall {
			conflict("leaf", n.Leaf, "spans halls "+p.hall+" and "+n.Hall)
		}
		if p, ok := spine[n.Spine]; !ok {
			spine[n.Spine] = place{site: n.Site}
		} else if p.site != n.Site {
			conflict("spine", n.Spine, "spans sites "+p.site+" and "+n.Site)
		}
	}
}

// draw is the idle and nameplate power of some nodes, in kW.
type draw struct{ idle, nameplate float64 }

func nodeDraw(n model.Node, models map[string]model.GPUModel) draw {
	g := models[n.GPUModel]
	return draw{
		idle:      (n.BaseWatts + float64(n.GPUs*g.IdleWatts)) / 1000,
		nameplate: (n.BaseWatts + float64(n.GPUs*g.TDPWatts)) / 1000,
	}
}

func (b *builder) checkPower(models map[string]model.GPUModel) {
	rack, hall, site := map[string]draw{}, map[string]draw{}, map[string]draw{}
	for _, n := range b.f.Nodes {
		d := nodeDraw(n, models)
		for _, m := range []struct {
			m   map[string]draw
			key string
		}{{rack, n.Rack}, {hall, n.Hall}, {site, n.Site}} {
			x := m.m[m.key]
			m.m[m.key] = draw{x.idle + d.idle, x.nameplate + d.nameplate}
		}
	}
	envelope := make(map[string]float64, len(b.f.Sites))
	for _, s := range b.f.Sites {
		if _, dup := envelope[s.ID]; !dup {
			envelope[s.ID] = s.PowerEnvelopeKW
		}
	}
	hallCap := map[string]float64{}
	for i, h := range b.f.Halls {
		hallCap[h.ID] = h.PowerCapKW
		at := b.hallAt[i].at
		env := envelope[h.Site]
		if h.PowerCapKW > 0 && env > 0 && h.PowerCapKW > env {
			at.errf("power_cap_kw", "hall cap %g kW is above the site's power envelope %g kW; lower it to at most %g", h.PowerCapKW, env, env)
		}
		b.checkBudget(at, "hall "+h.ID, h.PowerCapKW, h.CoolingCapacityKW, hall[h.ID])
	}
	done := map[*rackSpec]bool{}
	for i, r := range b.f.Racks {
		at := b.rackAt[i]
		if done[at] {
			continue // report an entry of identical racks once
		}
		n := len(b.d.errs)
		if hc := hallCap[r.Hall]; r.PowerCapKW > 0 && hc > 0 && r.PowerCapKW > hc {
			at.at.errf("power_cap_kw", "rack cap %g kW is above its hall's cap %g kW", r.PowerCapKW, hc)
		}
		b.checkBudget(at.at, "rack "+r.ID, r.PowerCapKW, r.CoolingCapacityKW, rack[r.ID])
		done[at] = len(b.d.errs) > n
	}
	for i, s := range b.f.Sites {
		if d := site[s.ID]; s.PowerEnvelopeKW > 0 && d.idle > s.PowerEnvelopeKW {
			b.siteAt[i].at.errf("power_envelope_kw", "the site's nodes idle at %.1f kW, above the envelope %g kW, so they could never all be on; raise the envelope", d.idle, s.PowerEnvelopeKW)
		}
	}
}

// checkBudget checks a hall's or rack's cap and cooling against its nodes.
func (b *builder) checkBudget(at *object, what string, capKW, coolKW float64, d draw) {
	if capKW > 0 && d.idle > capKW {
		at.errf("power_cap_kw", "%s idles at %.1f kW, above its cap %g kW, so its nodes could never all be on; raise power_cap_kw or move nodes", what, d.idle, capKW)
	}
	if coolKW <= 0 {
		return
	}
	limit, of := d.nameplate, "nameplate"
	if capKW > 0 && capKW < limit {
		limit, of = capKW, "power cap"
	}
	if limit > coolKW {
		at.errf("cooling_capacity_kw", "%s: cooling capacity %g kW is below its %s %.1f kW; every watt drawn becomes heat, so raise cooling_capacity_kw or set power_cap_kw <= %g", what, coolKW, of, limit, coolKW)
	}
}

func (b *builder) checkQuota(q map[string]model.Quota, at map[string]*object, tags []string) {
	for m, x := range q {
		o := at[m]
		if _, ok := b.f.GPUModels[m]; !ok {
			b.d.errf(o.line, o.path, "unknown GPU model %q; known models: %s", m, b.modelList())
			continue
		}
		if b.equipmentBad {
			continue
		}
		total := b.capacity(m, tags)
		switch {
		case x.Nominal <= total:
		case len(tags) == 0:
			o.errf("nominal", "%d %s GPUs is above the facility's %d %s GPUs; lower it (overcommit comes from summing tenants, not from one quota)", x.Nominal, m, total, m)
		default:
			o.errf("nominal", "%d %s GPUs is above the %d %s GPUs at sites in %s; lower it or allow more jurisdictions", x.Nominal, m, total, m, strings.Join(tags, ", "))
		}
	}
}

func (b *builder) checkTenants(spec *fileSpec, classes map[string]bool) {
	carried := map[string]bool{}
	for _, s := range b.f.Sites {
		for _, t := range s.Jurisdictions {
			carried[t] = true
		}
	}
	cohorts := map[string]bool{}
	for _, c := range spec.cohorts {
		cohorts[c.cohort.Name] = true
	}
	// each list is built once, by the first message that needs it
	cohortList := sync.OnceValue(func() string { return sortedKeys(cohorts) })
	carriedList := sync.OnceValue(func() string { return sortedKeys(carried) })
	classList := sync.OnceValue(func() string { return sortedKeys(classes) })
	seen := map[string]int{}
	for _, t := range spec.tenants {
		name := t.tenant.Name
		if first, dup := seen[name]; dup && name != "" {
			t.at.errf("name", "tenant %q is already defined at line %d", name, first)
		}
		seen[name] = t.at.lineOf("name")
		if c := t.tenant.Cohort; c != "" && !cohorts[c] {
			t.at.errf("cohort", "cohort %q is not defined; add it under cohorts or fix the name (defined: %s)", c, cohortList())
		}
		for _, j := range t.tenant.Jurisdictions {
			if !carried[j] && !b.equipmentBad {
				t.at.errf("jurisdictions", "no site carries jurisdiction %q, so the tenant could run nowhere there; sites carry: %s", j, carriedList())
			}
		}
		for _, pc := range t.tenant.PriorityClasses {
			if !classes[pc] {
				t.at.errf("priority_classes", "priority class %q is not defined; defined: %s", pc, classList())
			}
		}
		b.checkQuota(t.tenant.Quota, t.quotaAt, t.tenant.Jurisdictions)
	}
	seen = map[string]int{}
	for _, c := range spec.dataClasses {
		if first, dup := seen[c.name]; dup && c.name != "" {
			c.at.errf("name", "data class %q is already defined at line %d", c.name, first)
		}
		seen[c.name] = c.at.lineOf("name")
		for _, j := range c.tags {
			if !carried[j] && !b.equipmentBad {
				c.at.errf("jurisdictions", "no site carries jurisdiction %q, so data of class %q could live nowhere there; sites carry: %s", j, c.name, carriedList())
			}
		}
	}
	seen = map[string]int{}
	for _, c := range spec.classes {
		if first, dup := seen[c.class.Name]; dup && c.class.Name != "" {
			c.at.errf("name", "priority class %q is already defined at line %d", c.class.Name, first)
		}
		seen[c.class.Name] = c.at.lineOf("name")
	}
}

func (b *builder) checkCohorts(spec *fileSpec) {
	byName := map[string]*cohortSpec{}
	tenants := map[string]bool{}
	for _, t := range spec.tenants {
		tenants[t.tenant.Name] = true
	}
	for _, c := range spec.cohorts {
		name := c.cohort.Name
		if first, dup := byName[name]; dup && name != "" {
			c.at.errf("name", "cohort %q is already defined at line %d", name, first.at.lineOf("name"))
			continue
		}
		if tenants[name] {
			c.at.errf("name", "%q names both a tenant and a cohort; rename one of them", name)
		}
		byName[name] = c
		b.checkQuota(c.cohort.Quota, c.quotaAt, nil)
	}
	cohortList := sync.OnceValue(func() string { return sortedKeys(byName) })
	for _, c := range spec.cohorts {
		if p := c.cohort.Parent; p != "" && byName[p] == nil {
			c.at.errf("parent", "cohort %q is not defined; defined: %s", p, cohortList())
		}
	}
	// Walk up from each cohort until a root, a cycle, or a cohort an
	// earlier walk passed: all above that one are known, so each cohort
	// is walked once and a chain of n parents costs n steps, not n².
	walked := map[string]bool{}
	for _, c := range spec.cohorts {
		var chain []string
		pos := map[string]int{}
		for cur := c; cur != nil && !walked[cur.cohort.Name]; cur = byName[cur.cohort.Parent] {
			b.d.steps++
			if i, loop := pos[cur.cohort.Name]; loop {
				cycle := append(chain[i:], cur.cohort.Name)
				first := byName[cycle[0]]
				first.at.errf("parent", "cohorts form a cycle: %s; make one of them a root by removing its parent", strings.Join(cycle, " -> "))
				break
			}
			pos[cur.cohort.Name] = len(chain)
			chain = append(chain, cur.cohort.Name)
		}
		for _, n := range chain {
			walked[n] = true
		}
	}
}

// maxListed bounds the names a message lists.
const maxListed = 20

// sortedKeys lists the keys of m for a message: sorted, at most
// maxListed, then how many more.
func sortedKeys[V any](m map[string]V) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return listNames(keys)
}

// listNames sorts names and lists at most maxListed of them.
func listNames(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	slices.Sort(names)
	if len(names) > maxListed {
		return fmt.Sprintf("%s and %d more", strings.Join(names[:maxListed], ", "), len(names)-maxListed)
	}
	return strings.Join(names, ", ")
}
