package facility

import (
	"fmt"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/yamlin"
)

// builder flattens the decoded spec into a model.Facility and remembers,
// for every hall, rack and node it makes, the spec it came from, so that
// the checks after it can name lines.
type builder struct {
	d      *decoder
	f      *model.Facility
	siteAt []*siteSpec
	hallAt []*hallSpec
	rackAt []*rackSpec
	nodeAt []nodeOrigin
	// modelList is knownModels of the facility's models, built once
	modelList func() string
	caps      *capacityIndex // built by the first quota check
	// equipmentBad is set when sites, halls, racks or nodes had errors;
	// checks of quotas against capacity are then skipped, since the
	// capacity they would compare with is wrong.
	equipmentBad bool
}

type nodeOrigin struct {
	group *groupSpec
	line  int // line of the names entry that produced the node
}

func (b *builder) build(spec *fileSpec) {
	racks, nodes, ok := b.size(spec)
	if ok {
		b.f.Racks = make([]model.Rack, 0, racks)
		b.rackAt = make([]*rackSpec, 0, racks)
		b.f.Nodes = make([]model.Node, 0, nodes)
		b.nodeAt = make([]nodeOrigin, 0, nodes)
	}
	siteLine := map[string]int{}
	for _, s := range spec.sites {
		if s.site.ID != "" {
			if first, dup := siteLine[s.site.ID]; dup {
				s.at.errf("id", "site id %q is already used at line %d; site ids must be unique", s.site.ID, first)
			}
			siteLine[s.site.ID] = s.at.lineOf("id")
		}
		b.f.Sites = append(b.f.Sites, s.site)
		b.siteAt = append(b.siteAt, s)
		hallLine := map[string]int{}
		for _, h := range s.halls {
			if h.id != "" {
				if first, dup := hallLine[h.id]; dup {
					h.at.errf("id", "hall id %q is already used in site %s at line %d; hall ids must be unique within a site", h.id, s.site.ID, first)
				}
				hallLine[h.id] = h.at.lineOf("id")
			}
			h.hall.ID = s.site.ID + "/" + h.id
			h.hall.Site = s.site.ID
			b.f.Halls = append(b.f.Halls, h.hall)
			b.hallAt = append(b.hallAt, h)
			if ok && buildable(s, h) {
				b.racks(s, h)
			}
		}
	}
}

// buildable reports whether the racks of a hall can be built: its and
// its site's ids, wrong ones already reported, go into every rack's and
// node's names, so a long wrong one would be copied a hundred thousand
// times.
func buildable(s *siteSpec, h *hallSpec) bool {
	return validIdent(s.site.ID) && validIdent(h.id)
}

func (b *builder) racks(s *siteSpec, h *hallSpec) {
	rackLine := map[string]int{}
	for _, r := range h.racks {
		if r.pattern == "" {
			continue
		}
		vars := map[string]string{"site": s.site.ID, "hall": h.id}
		pt, err := compileTemplate(r.pattern, vars)
		if err != nil {
			r.at.errf("id", "%v", err)
			continue
		}
		ids := pt.expand()
		if len(ids) > 1 {
			for _, g := range r.groups {
				for i, p := range g.patterns {
					if !strings.Contains(p, "{rack}") {
						b.d.errf(g.patternLines[i], g.at.sub("names"), "%q has no {rack} placeholder, but the rack entry %q describes %d racks, so the names would repeat in every rack; write e.g. \"{rack}-n[01-18]\"", p, r.pattern, len(ids))
					}
				}
			}
		}
		for _, id := range ids {
			if !validIdent(id) {
				r.at.errf("id", "rack id %q is not a valid name; %s", yamlin.Truncate(id, 80), identHint)
				continue
			}
			if first, dup := rackLine[id]; dup {
				r.at.errf("id", "rack id %q is already used in hall %s at line %d; rack ids must be unique within a hall", id, h.hall.ID, first)
				continue
			}
			rackLine[id] = r.at.lineOf("id")
			rack := r.rack
			rack.ID = h.hall.ID + "/" + id
			rack.Hall = h.hall.ID
			b.f.Racks = append(b.f.Racks, rack)
			b.rackAt = append(b.rackAt, r)
			vars := map[string]string{"site": s.site.ID, "hall": h.id, "rack": id}
			b.nodes(r, rack, vars)
		}
	}
}

// nodes expands the node groups of one rack. Automatic NVLink domain and
// leaf numbers count per rack, across its groups, from 1.
func (b *builder) nodes(r *rackSpec, rack model.Rack, vars map[string]string) {
	nvl, leaf := 0, 0
	for _, g := range r.groups {
		var names []string
		var lines []int
		for i, p := range g.patterns {
			if g.badPattern != nil && g.badPattern[i] {
				continue
			}
			pt, err := compileTemplate(p, vars)
			if err != nil {
				// a rack id has no brackets and may not stand in a
				// range, so the pattern is as wrong in every rack of
				// the entry: say so once
				b.d.errf(g.patternLines[i], g.at.sub("names"), "%v", err)
				if g.badPattern == nil {
					g.badPattern = make([]bool, len(g.patterns))
				}
				g.badPattern[i] = true
				continue
			}
			b.d.named += pt.n
			for _, x := range pt.expand() {
				if !validIdent(x) {
					b.d.errf(g.patternLines[i], g.at.sub("names"), "node name %q is not valid; %s", yamlin.Truncate(x, 80), identHint)
					continue
				}
				names = append(names, x)
				lines = append(lines, g.patternLines[i])
			}
		}
		nvlNames := b.topology(g, "nvlink_domain", g.nvlDomain, g.nvlSize, "{site}/{hall}/{rack}-nvl{n}", &nvl, names, vars)
		leafNames := b.topology(g, "leaf", g.leaf, g.perLeaf, "{site}/{hall}/{rack}-leaf{n}", &leaf, names, vars)
		spine := vars["site"] + "/" + vars["hall"]
		if g.spine != "" {
			spine = b.one(g, "spine", g.spine, vars)
		}
		for i, name := range names {
			n := g.node
			n.Name = name
			n.Site = vars["site"]
			n.Hall = rack.Hall
			n.Rack = rack.ID
			n.NVLinkDomain = name
			if nvlNames != nil {
				n.NVLinkDomain = nvlNames[i]
			}
			n.Leaf = rack.ID
			if leafNames != nil {
				n.Leaf = leafNames[i]
			}
			n.Spine = spine
			b.f.Nodes = append(b.f.Nodes, n)
			b.nodeAt = append(b.nodeAt, nodeOrigin{group: g, line: lines[i]})
		}
	}
}

// topology names the NVLink domain or leaf of each node of a group: one
// explicit name for all, or chunks of size nodes numbered by counter.
// It returns nil when the default applies.
func (b *builder) topology(g *groupSpec, key, tmpl string, size int, def string, counter *int, names []string, vars map[string]string) []string {
	if tmpl == "" && size == 0 {
		return nil
	}
	out := make([]string, len(names))
	if size == 0 {
		name := b.one(g, key, tmpl, vars)
		for i := range out {
			out[i] = name
		}
		return out
	}
	if tmpl == "" {
		tmpl = def
	}
	v := map[string]string{"n": ""}
	for k, x := range vars {
		v[k] = x
	}
	cur := ""
	for i := range names {
		if i%size == 0 {
			*counter++
			v["n"] = fmt.Sprintf("%02d", *counter)
			var err error
			if cur, err = substitute(tmpl, v); err != nil {
				g.at.errf(key, "%v", err)
				return nil
			}
		}
		out[i] = cur
	}
	return out
}

// one substitutes a template that names a single topology key.
func (b *builder) one(g *groupSpec, key, tmpl string, vars map[string]string) string {
	s, err := substitute(tmpl, vars)
	if err != nil {
		hint := map[string]string{"leaf": " ({n} needs nodes_per_leaf)", "nvlink_domain": " ({n} needs nvlink_domain_size)"}[key]
		g.at.errf(key, "%v%s", err, hint)
		return tmpl
	}
	if s == "" || strings.ContainsAny(s, " \t\n") {
		g.at.errf(key, "%q is not a valid %s name; use letters, digits, '/', '.', '_' and '-'", s, key)
	}
	return s
}

// compileTemplate substitutes placeholders, then parses ranges. A
// placeholder inside a range is refused: it would make the number of
// names depend on the rack (n[1-{rack}]), which size could not count.
func compileTemplate(p string, vars map[string]string) (pattern, error) {
	if open := strings.IndexByte(p, '['); open >= 0 {
		inRange := false
		for _, c := range []byte(p[open:]) {
			switch {
			case c == '[':
				inRange = true
			case c == ']':
				inRange = false
			case c == '{' && inRange:
				return pattern{}, fmt.Errorf("%q puts a placeholder inside a range; a range holds numbers, e.g. {rack}-n[1-4]", p)
			}
		}
	}
	s, err := substitute(p, vars)
	if err != nil {
		return pattern{}, err
	}
	return parsePattern(s)
}
