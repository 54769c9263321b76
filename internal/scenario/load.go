package scenario

import (
	"bytes"
	"fmt"
	"path/filepath"

	"github.com/carnot-dc/carnot/internal/sim"
	"github.com/carnot-dc/carnot/internal/yamlin"
)

// Limits that keep a mistaken or hostile file cheap.
const (
	maxErrors    = 100
	maxVariants  = 64
	maxScenarios = 1024
)

// limits bound the YAML of a scenario set (internal/yamlin's Limits;
// docs/plan.md#limits). The largest set the other limits allow, 1,024
// explicit scenarios and 64 variants on each axis with every policy
// setting, is 119 kB, 25,685 tokens and 12,945 values (TestLimitsHold).
// A policy setting is written out and parsed again, so what its aliases
// expand to costs twice.
var limits = yamlin.Limits{Bytes: 1 << 20, Marks: 200_000, Depth: yamlin.MaxDepth, Keys: 256, Values: 200_000}

var topKeys = []string{"name", "facility", "workload", "seed", "baseline", "max_passes", "policies", "facilities", "grids", "scenarios"}

// LoadFile reads and checks the scenario-set file at path.
func LoadFile(path string) (*Set, error) {
	data, err := limits.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario set: %w", err)
	}
	return Load(path, data)
}

// Load decodes and checks a scenario-set file named name (paths in it
// are relative to name's directory). On any problem it returns a
// yamlin.ErrorList with every problem, sorted by line. It does not read
// the files the set names; Prepare does.
func Load(name string, data []byte) (*Set, error) {
	s, _, err := load(name, data)
	return s, err
}

// load is Load; it also returns what reading the YAML cost, for the
// tests of hostile input.
func load(name string, data []byte) (s *Set, w yamlin.Work, err error) {
	c := &yamlin.Collector{File: name, Max: maxErrors}
	defer func() {
		if r := recover(); r != nil { // the YAML parser is third-party code
			s, err = nil, yamlin.ErrorList{{File: name, Msg: fmt.Sprintf("internal error while reading the file (%v); please report it with the file", r)}}
		}
	}()
	r := &yamlin.Reader{Errs: c, Limits: limits, AliasNameLimit: 40}
	docs := r.Docs(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	if err := c.Err(); err != nil {
		return nil, r.Work, err
	}
	switch {
	case len(docs) == 0:
		return nil, r.Work, yamlin.ErrorList{{File: name, Msg: "empty scenario set; start with facility:, workload: and policies: (see docs/plan.md)"}}
	case len(docs) > 1:
		return nil, r.Work, yamlin.ErrorList{{File: name, Line: r.Line(docs[1]), Msg: "a scenario set holds one YAML document; remove the second one (after ---)"}}
	}
	root := r.Convert(docs[0])
	if err := c.Err(); err != nil {
		return nil, r.Work, err
	}
	d := &decoder{c: c}
	s = &Set{File: name}
	d.set(s, root, filepath.Dir(name))
	if err := c.Err(); err != nil {
		return nil, r.Work, err
	}
	return s, r.Work, nil
}

func (d *decoder) set(s *Set, root *yamlin.Node, dir string) {
	top := map[string]yamlin.Entry{}
	if !d.c.Fields(root, "", "a scenario set", topKeys, func(e yamlin.Entry) { top[e.Key] = e }) {
		return
	}
	if e, ok := top["name"]; ok {
		s.Name, _ = d.str(e.Val, "name")
	}
	if e, ok := top["facility"]; ok {
		if p, ok := d.str(e.Val, "facility"); ok {
			s.Facility, s.facAt, s.facAs = resolve(dir, p), e.Val.Line, p
		}
	} else {
		d.c.Add(root.Line, "", "missing facility: the base facility description, e.g. facility: lab.yaml")
	}
	if e, ok := top["workload"]; ok {
		s.Workload = d.workload(e.Val, dir)
	} else {
		d.c.Add(root.Line, "", "missing workload: a job file (workload: {file: jobs.jsonl}) or generated jobs (workload: {generate: {jobs: 500, seed: 1, start: 2023-03-01T00:00:00Z}})")
	}
	if e, ok := top["seed"]; ok {
		s.Seed, _ = d.c.Integer(e.Val, "seed", -1<<53, 1<<53)
	}
	if e, ok := top["max_passes"]; ok {
		n, _ := d.c.Integer(e.Val, "max_passes", 1, 1_000_000_000)
		s.MaxPasses = int(n)
	}
	d.axes(s, top, dir)
	if e, ok := top["scenarios"]; ok {
		d.explicit(s, e.Val)
	} else if n := len(s.Policies) * len(s.Facilities) * len(s.Grids); n > maxScenarios {
		// counted, not made: 200 variants on each axis once made 8
		// million scenarios, 3.4 GB in 27 s, before this check
		d.c.Add(root.Line, "", "%d scenarios, more than %d; split the set", n, maxScenarios)
	} else {
		s.cross()
	}
	d.uniqueNames(s)
	d.outputNames(s)
	if e, ok := top["baseline"]; ok {
		if b, ok := d.str(e.Val, "baseline"); ok {
			s.Baseline = b
			// With no scenario left, the scenarios' own errors say why;
			// a baseline error would only list none.
			if s.index(b) < 0 && len(s.Scenarios) > 0 {
				d.c.Add(e.Val.Line, "baseline", "no scenario is named %q; the scenarios are %s", yamlin.Truncate(b, 40), s.names())
			}
		}
	}
}

// axes reads policies, facilities and grids; an axis left out has one
// variant that changes nothing.
func (d *decoder) axes(s *Set, top map[string]yamlin.Entry, dir string) {
	if e, ok := top["policies"]; ok {
		d.named(e.Val, "policies", func(n string, l int, v *yamlin.Node) { s.Policies = append(s.Policies, d.policy(n, l, v)) })
		d.bound(e.Val, "policies", len(s.Policies))
	}
	if e, ok := top["facilities"]; ok {
		d.named(e.Val, "facilities", func(n string, l int, v *yamlin.Node) {
			s.Facilities = append(s.Facilities, d.facilityVariant(n, l, v, dir))
		})
		d.bound(e.Val, "facilities", len(s.Facilities))
	}
	if e, ok := top["grids"]; ok {
		d.named(e.Val, "grids", func(n string, l int, v *yamlin.Node) { s.Grids = append(s.Grids, d.grid(n, l, v, dir)) })
		d.bound(e.Val, "grids", len(s.Grids))
		if len(s.Grids) <= maxVariants { // too many says enough
			d.sameGrids(s.Grids)
		}
	}
	if len(s.Policies) == 0 {
		s.Policies = []PolicyVariant{{Name: "facility-policy"}}
	}
	if len(s.Facilities) == 0 {
		s.Facilities = []FacilityVariant{{Name: "base", GPUScale: 1}}
	}
	if len(s.Grids) == 0 {
		s.Grids = []GridVariant{{Name: "own-zones"}}
	}
}

func (d *decoder) bound(n *yamlin.Node, path string, got int) {
	if got > maxVariants {
		d.c.Add(n.Line, path, "%d variants, more than %d", got, maxVariants)
	}
}

func (d *decoder) facilityVariant(name string, line int, v *yamlin.Node, dir string) FacilityVariant {
	fv := FacilityVariant{Name: name, Line: line, GPUScale: 1}
	if v.Kind == yamlin.KindNull {
		return fv
	}
	path := "facilities." + name
	d.c.Fields(v, path, "a facility variant", []string{"gpu_scale", "envelope_fraction", "power_caps_kw", "mtbf", "mttr", "gpu_mtbf", "gpu_mttr", "facility"}, func(e yamlin.Entry) {
		switch e.Key {
		case "facility":
			if p, ok := d.str(e.Val, yamlin.Join(path, e.Key)); ok {
				fv.File, fv.FileAs, fv.FileLine = resolve(dir, p), p, e.Val.Line
			}
		case "gpu_scale":
			if f, ok := d.number(e.Val, yamlin.Join(path, e.Key), 0, 16, true); ok {
				fv.GPUScale = f
			}
		case "envelope_fraction":
			fv.EnvelopeFraction, _ = d.number(e.Val, yamlin.Join(path, e.Key), 0, 16, true) // as gpu_scale: the envelope may grow with the GPUs
		case "power_caps_kw":
			fv.PowerCaps = d.powerCaps(e.Val, yamlin.Join(path, e.Key))
		case "mtbf", "mttr":
			if du, ok := d.failTime(e, path, maxDuration, "nodes"); ok && e.Key == "mtbf" {
				fv.MTBF = du
			} else if ok {
				fv.MTTR = du
			}
		case "gpu_mtbf", "gpu_mttr":
			limit := maxDuration
			if e.Key == "gpu_mtbf" { // a GPU's MTBF is counted in years
				limit = sim.MaxGPUMTBF
			}
			if du, ok := d.failTime(e, path, limit, "GPUs"); ok && e.Key == "gpu_mtbf" {
				fv.GPUMTBF = du
			} else if ok {
				fv.GPUMTTR = du
			}
		}
	})
	if fv.MTTR > 0 && fv.MTBF == 0 {
		d.c.Add(v.Line, path, "mttr without mtbf: nodes fail only with an mtbf, e.g. {mtbf: 30d, mttr: 4h}")
	}
	if fv.GPUMTTR > 0 && fv.GPUMTBF == 0 {
		d.c.Add(v.Line, path, "gpu_mttr without gpu_mtbf: GPUs fail only with a gpu_mtbf, e.g. {gpu_mtbf: 730d, gpu_mttr: 24h}")
	}
	return fv
}

// maxCapKW bounds a power cap a variant sets: 10 GW.
const maxCapKW = 1e7

// powerCaps reads a mapping of site, hall or rack IDs to kW.
func (d *decoder) powerCaps(n *yamlin.Node, path string) []PowerCap {
	if n.Kind != yamlin.KindMap || len(n.Entries) == 0 {
		d.c.Add(n.Line, path, "must be a mapping of site, hall or rack IDs to kW, e.g. power_caps_kw: {par1/h1: 30000} (got %s)", describeEmpty(n))
		return nil
	}
	var out []PowerCap
	d.c.Entries(n, path, func(e yamlin.Entry) {
		if kw, ok := d.number(e.Val, yamlin.Join(path, e.Key), 0, maxCapKW, true); ok {
			out = append(out, PowerCap{ID: e.Key, KW: kw, Line: e.Line})
		}
	})
	return out
}

func (d *decoder) grid(name string, line int, v *yamlin.Node, dir string) GridVariant {
	gv := GridVariant{Name: name, Line: line}
	path := "grids." + name
	d.c.Fields(v, path, "a grid variant", []string{"zone", "file"}, func(e yamlin.Entry) {
		switch e.Key {
		case "zone":
			gv.Zone, _ = d.str(e.Val, yamlin.Join(path, e.Key))
		case "file":
			if p, ok := d.str(e.Val, yamlin.Join(path, e.Key)); ok {
				gv.File = resolve(dir, p)
			}
		}
	})
	if v.Kind == yamlin.KindMap && gv.Zone == "" && v.Get("zone") == nil {
		d.c.Add(v.Line, path, "missing zone: the grid zone every site draws from, e.g. zone: FR")
	}
	return gv
}

// sameGrids reports a grid variant with the zone and the series of an
// earlier one (the same file, or neither with one: both then take the
// zone's series from --grid or the built-in ones). Its scenarios would
// run the same as the earlier one's, under another name.
func (d *decoder) sameGrids(grids []GridVariant) {
	type key struct{ zone, file string }
	seen := map[key]int{}
	for i, g := range grids {
		if g.Zone == "" {
			continue
		}
		k := key{g.Zone, g.File}
		if k.file != "" {
			k.file = filepath.Clean(k.file)
		}
		j, dup := seen[k]
		if !dup {
			seen[k] = i
			continue
		}
		from := "from --grid or carnot's built-in series"
		if k.file != "" {
			from = "from " + k.file
		}
		d.c.Add(g.Line, "grids."+g.Name, "zone %s %s, as grids.%s (line %d): the two would run the same scenarios; drop one, or give each its own file:",
			g.Zone, from, grids[j].Name, grids[j].Line)
	}
}

// resolve makes a path in the file relative to the file's directory.
func resolve(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}
