package facility

import (
	"fmt"
	"math"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/yamlin"
)

// The spec types hold a decoded file before expansion. Each keeps the
// *object it came from so that later checks can name the line of any of
// its fields.

type fileSpec struct {
	at          *object
	name        string
	gpuModels   []*gpuModelSpec
	sites       []*siteSpec
	tenants     []*tenantSpec
	cohorts     []*cohortSpec
	classes     []*classSpec // nil when the section is absent
	dataClasses []*dataClassSpec
	policy      model.Policy
	policyAt    *object
}

type dataClassSpec struct {
	at   *object
	name string
	tags []string
}

type siteSpec struct {
	at    *object
	site  model.Site
	halls []*hallSpec
}

type hallSpec struct {
	at    *object
	id    string // as written, unique within the site
	hall  model.Hall
	racks []*rackSpec
}

// rackSpec is one rack, or one rack per name when id is a range.
type rackSpec struct {
	at      *object
	pattern string
	rack    model.Rack // template: ID and Hall filled per expanded rack
	groups  []*groupSpec
}

// groupSpec is a node group: nodes alike but for their names.
type groupSpec struct {
	at           *object
	patterns     []string
	patternLines []int
	badPattern   []bool     // found wrong in the entry's first rack, skipped in the others
	node         model.Node // template
	nvlDomain    string     // name or template; "" = default
	nvlSize      int        // nodes per NVLink domain; 0 = not set
	leaf         string
	perLeaf      int
	spine        string
}

// validIdent reports whether s is a name: a letter or digit, then up to
// 62 letters, digits, '.', '_' or '-' (a loop, not a regular expression:
// it runs once for every node name).
func validIdent(s string) bool {
	if s == "" || len(s) > 63 || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

const identHint = "use letters, digits, '.', '_' and '-', starting with a letter or digit (at most 63 characters)"

// maxKW bounds every power figure; beyond it a value is a typo.
const maxKW = 1e7

// ident reads a required identifier.
func (o *object) ident(key, hint string) string {
	s := o.reqStr(key, hint)
	if s != "" && !validIdent(s) {
		o.errf(key, "%q is not a valid name; %s", yamlin.Truncate(s, 80), identHint)
	}
	return s
}

// maxTemplate bounds a name pattern or topology template: each is
// substituted, and a pattern expanded, once for every rack of its entry,
// so its length is multiplied by up to maxRacks.
const maxTemplate = 256

// template reads an optional pattern or template of at most maxTemplate
// characters; a longer one is an error and reads as absent.
func (o *object) template(key string) string {
	s, _ := o.str(key)
	if len(s) > maxTemplate {
		o.errf(key, "%d characters, more than %d, the limit", len(s), maxTemplate)
		return ""
	}
	return s
}

// power reads an optional non-negative kW or W figure; ok is false when
// the key is absent or the value is invalid (an error is recorded).
func (o *object) power(key string) (float64, bool) {
	x, ok := o.number(key, math.Inf(-1), math.Inf(1))
	switch {
	case !ok:
		return 0, false
	case x < 0:
		switch key {
		case "power_envelope_kw":
			o.errf(key, "%g is negative; the envelope is the IT power the site may draw, in kW (> 0)", x)
		case "base_watts":
			o.errf(key, "%g is negative; a node's base power (CPUs, memory, fans, NICs) is in W, >= 0", x)
		default:
			o.errf(key, "%g is negative; power figures must be >= 0 (0 means no cap)", x)
		}
		return 0, false
	case x > maxKW:
		o.errf(key, "%g is implausibly large (limit %g)", x, maxKW)
		return 0, false
	}
	return x, true
}

// tags reads a list of jurisdiction tags. present reports whether the
// key was set at all.
func (o *object) tags(key string) (tags []string, present bool) {
	if !o.has(key) {
		return nil, false
	}
	list, lines := o.strList(key, false)
	if len(list) == 0 && len(o.list(key, false)) == 0 {
		o.errf(key, "must not be empty; list jurisdiction tags such as [EU, FR], or leave the field out")
	}
	seen := map[string]bool{}
	for i, t := range list {
		path := fmt.Sprintf("%s[%d]", o.sub(key), i)
		switch {
		case !model.IsJurisdictionTag(t):
			o.d.errf(lines[i], path, "%q is not a jurisdiction tag; tags are non-empty upper-case words such as EU, FR or US-GOV", t)
		case seen[t]:
			o.d.errf(lines[i], path, "tag %q is listed twice", t)
		default:
			tags = append(tags, t)
		}
		seen[t] = true
	}
	return tags, true
}

// set reads a list of strings in which order means nothing, refusing a
// repeated item as tags does; what names the items in the message
// ("priority class"). Repeats are left out of the result.
func (o *object) set(key, what string) []string {
	var out []string
	seen := map[string]bool{}
	for _, it := range o.list(key, false) {
		s, ok := scalarText(it.node)
		switch {
		case !ok:
			o.d.errf(it.line, it.path, "must be a string, not %s", kindOf(it.node))
		case seen[s]:
			o.d.errf(it.line, it.path, "%s %q is listed twice", what, s)
		default:
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func (o *object) cooling(key string, def model.Cooling) model.Cooling {
	s, ok := o.str(key)
	if !ok {
		return def
	}
	switch c := model.Cooling(s); c {
	case model.CoolingAir, model.CoolingLiquid:
		return c
	}
	o.errf(key, "%q is not a cooling kind; use air or liquid", s)
	return def
}

func (d *decoder) sites(root *object) []*siteSpec {
	items := root.list("sites", false)
	if len(items) == 0 {
		root.missing("sites", "list at least one site with id, country, operator, power_envelope_kw, pue and halls")
	}
	var out []*siteSpec
	for _, it := range items {
		o := d.object(it.node, it.line, it.path, "id", "name", "country", "operator", "jurisdictions",
			"power_envelope_kw", "pue", "grid_zone", "halls")
		if o != nil {
			out = append(out, d.site(o))
		}
	}
	return out
}

func (d *decoder) site(o *object) *siteSpec {
	s := &siteSpec{at: o}
	s.site.ID = o.ident("id", "give the site a short id, e.g. par1")
	s.site.Name, _ = o.str("name")
	if s.site.Name == "" {
		s.site.Name = s.site.ID
	}
	s.site.Country = o.country()
	s.site.Operator = o.reqStr("operator", "name the legal entity that operates the site, e.g. \"Example Datacenters SAS\"")
	if tags, ok := o.tags("jurisdictions"); ok {
		s.site.Jurisdictions = tags
		d.checkSiteTags(o, s.site.Country, tags)
	} else if s.site.Country != "" {
		s.site.Jurisdictions = defaultJurisdictions(s.site.Country)
	}
	if !o.has("power_envelope_kw") {
		o.missing("power_envelope_kw", "set the site's IT power envelope in kW (> 0)")
	} else if kw, ok := o.power("power_envelope_kw"); ok && kw == 0 {
		o.errf("power_envelope_kw", "must be > 0: the IT power the site may draw, in kW")
	} else {
		s.site.PowerEnvelopeKW = kw
	}
	if !o.has("pue") {
		o.missing("pue", "set the site's power usage effectiveness, e.g. 1.15 for liquid-cooled halls or 1.4 for air-cooled ones")
	} else if pue, ok := o.number("pue", math.Inf(-1), math.Inf(1)); ok {
		switch {
		case pue < 1:
			o.errf("pue", "%g is below 1; facility power cannot be less than IT power (typical values 1.1-1.6)", pue)
		case pue > 4:
			o.errf("pue", "%g is implausibly high; typical values are 1.1-1.6", pue)
		default:
			s.site.PUE = pue
		}
	}
	s.site.GridZone, _ = o.str("grid_zone")
	if s.site.GridZone == "" {
		s.site.GridZone = s.site.Country
	}
	items := o.list("halls", false)
	if len(items) == 0 {
		o.missing("halls", "list the site's halls, each with an id and racks")
	}
	for _, it := range items {
		ho := d.object(it.node, it.line, it.path, "id", "power_cap_kw", "cooling", "cooling_capacity_kw", "racks")
		if ho != nil {
			s.halls = append(s.halls, d.hall(ho))
		}
	}
	return s
}

func (o *object) country() string {
	c := o.reqStr("country", "set the ISO 3166-1 alpha-2 country code, e.g. FR")
	switch {
	case c == "" || countries[c]:
		return c
	case countries[strings.ToUpper(c)]:
		o.errf("country", "%q must be upper case; write %s", c, strings.ToUpper(c))
	case commonMistakes[strings.ToUpper(c)] != "":
		o.errf("country", "%q is not an ISO 3166-1 alpha-2 country code; use %s", c, commonMistakes[strings.ToUpper(c)])
	default:
		o.errf("country", "%q is not an ISO 3166-1 alpha-2 country code; use e.g. FR, DE, US", c)
	}
	return ""
}

// checkSiteTags makes a site's tags consistent with its country: it must
// carry its own country and may carry EU only inside the Union.
func (d *decoder) checkSiteTags(o *object, country string, tags []string) {
	if country == "" {
		return
	}
	hasCountry := false
	for _, t := range tags {
		hasCountry = hasCountry || t == country
		if t == "EU" && !eu[country] {
			o.errf("jurisdictions", "%s is not an EU member state, so the site cannot carry EU", country)
		}
	}
	if !hasCountry {
		o.errf("jurisdictions", "must include the site's country %s (data in the site is under its law)", country)
	}
}

func (d *decoder) hall(o *object) *hallSpec {
	h := &hallSpec{at: o}
	h.id = o.ident("id", "give the hall an id unique within its site, e.g. h1")
	h.hall.PowerCapKW, _ = o.power("power_cap_kw")
	h.hall.Cooling = o.cooling("cooling", model.CoolingAir)
	h.hall.CoolingCapacityKW, _ = o.power("cooling_capacity_kw")
	for _, it := range o.list("racks", false) {
		ro := d.object(it.node, it.line, it.path, "id", "power_cap_kw", "cooling", "cooling_capacity_kw", "nodes")
		if ro != nil {
			h.racks = append(h.racks, d.rack(ro, h.hall.Cooling))
		}
	}
	return h
}

func (d *decoder) rack(o *object, hallCooling model.Cooling) *rackSpec {
	r := &rackSpec{at: o}
	if o.has("id") {
		r.pattern = o.template("id")
	} else {
		o.missing("id", "give the rack an id unique within its hall, e.g. r01, or a range such as r[01-48] for identical racks")
	}
	r.rack.PowerCapKW, _ = o.power("power_cap_kw")
	r.rack.Cooling = o.cooling("cooling", hallCooling)
	r.rack.CoolingCapacityKW, _ = o.power("cooling_capacity_kw")
	for _, it := range o.list("nodes", false) {
		g := d.object(it.node, it.line, it.path, "names", "gpu_model", "gpus", "cpus", "memory_gib", "base_watts",
			"nvlink_domain", "nvlink_domain_size", "leaf", "nodes_per_leaf", "spine")
		if g != nil {
			r.groups = append(r.groups, d.group(g))
		}
	}
	return r
}

func (d *decoder) group(o *object) *groupSpec {
	g := &groupSpec{at: o}
	if !o.has("names") {
		o.missing("names", "name the nodes, e.g. gpu[001-128] or [a1, a2]")
	}
	patterns, lines := o.strList("names", true)
	for i, p := range patterns {
		if len(p) > maxTemplate {
			d.errf(lines[i], o.sub("names"), "a pattern of %d characters, more than %d, the limit; a name has at most 63", len(p), maxTemplate)
			continue
		}
		g.patterns, g.patternLines = append(g.patterns, p), append(g.patternLines, lines[i])
	}
	g.node.GPUModel, _ = o.str("gpu_model")
	gpus, gpusOK := o.integer("gpus", 0, 1024)
	g.node.GPUs = gpus
	if o.has("cpus") {
		g.node.CPUs, _ = o.integer("cpus", 1, 1<<20)
	} else {
		o.missing("cpus", "set the CPU cores per node, e.g. 112")
	}
	if o.has("memory_gib") {
		g.node.MemoryGiB, _ = o.integer("memory_gib", 1, 1<<30)
	} else {
		o.missing("memory_gib", "set the node's memory in GiB, e.g. 2048")
	}
	if o.has("base_watts") {
		g.node.BaseWatts, _ = o.power("base_watts")
	} else {
		o.missing("base_watts", "set the node's idle draw without GPUs in W, e.g. 2000 for an 8-GPU HGX node")
	}
	if gpus > 0 && g.node.GPUModel == "" {
		d.errf(o.lineOf("gpus"), o.sub("gpu_model"), "nodes with gpus > 0 need a gpu_model; add e.g. gpu_model: H100")
	}
	if g.node.GPUModel != "" && gpus == 0 && (gpusOK || !o.has("gpus")) {
		o.errf("gpus", "gpu_model %s is set but gpus is 0; set the GPUs per node, or drop gpu_model for CPU-only nodes", g.node.GPUModel)
	}
	g.nvlDomain = o.template("nvlink_domain")
	g.nvlSize, _ = o.integer("nvlink_domain_size", 1, maxExpand)
	g.leaf = o.template("leaf")
	g.perLeaf, _ = o.integer("nodes_per_leaf", 1, maxExpand)
	g.spine = o.template("spine")
	if g.nvlSize > 0 && g.nvlDomain != "" && !strings.Contains(g.nvlDomain, "{n}") {
		o.errf("nvlink_domain", "%q names one domain, but nvlink_domain_size splits the group into several; put {n} in the name or drop one of the two", g.nvlDomain)
	}
	if g.perLeaf > 0 && g.leaf != "" && !strings.Contains(g.leaf, "{n}") {
		o.errf("leaf", "%q names one leaf, but nodes_per_leaf splits the group over several; put {n} in the name or drop one of the two", g.leaf)
	}
	return g
}
