package scenario

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/carnot-dc/carnot/internal/yamlin"
)

// explicit reads a scenarios: list, each entry naming one variant per
// axis (an axis with one variant may be left out).
func (d *decoder) explicit(s *Set, n *yamlin.Node) {
	if n.Kind != yamlin.KindSeq || len(n.Items) == 0 {
		d.c.Add(n.Line, "scenarios", "must be a list of {name, policy, facility, grid} (got %s)", describeEmpty(n))
		return
	}
	if len(n.Items) > maxScenarios {
		d.c.Add(n.Line, "scenarios", "%d entries, more than %d", len(n.Items), maxScenarios)
		return
	}
	for i, it := range n.Items {
		path := "scenarios[" + strconv.Itoa(i) + "]"
		sc := Scenario{Line: it.Line, Policy: -1, Facility: -1, Grid: -1}
		ok := d.c.Fields(it, path, "a scenario", []string{"name", "policy", "facility", "grid"}, func(e yamlin.Entry) {
			p := yamlin.Join(path, e.Key)
			v, ok := d.str(e.Val, p)
			if !ok {
				return
			}
			switch e.Key {
			case "name":
				if !validScenarioName(v) {
					d.c.Add(e.Val.Line, p, "name %q: use letters, digits, '.', '_', '-' or '+', starting with a letter or digit", yamlin.Truncate(v, 40))
					return
				}
				sc.Name = v
			case "policy":
				sc.Policy = d.pick(e.Val.Line, p, v, len(s.Policies), func(i int) string { return s.Policies[i].Name })
			case "facility":
				sc.Facility = d.pick(e.Val.Line, p, v, len(s.Facilities), func(i int) string { return s.Facilities[i].Name })
			case "grid":
				sc.Grid = d.pick(e.Val.Line, p, v, len(s.Grids), func(i int) string { return s.Grids[i].Name })
			}
		})
		if !ok {
			continue
		}
		sizes := [3]int{len(s.Policies), len(s.Facilities), len(s.Grids)}
		for a, idx := range []*int{&sc.Policy, &sc.Facility, &sc.Grid} {
			if *idx >= 0 || it.Get(axisNames[a]) != nil {
				continue
			}
			if sizes[a] == 1 {
				*idx = 0
				continue
			}
			d.c.Add(it.Line, path, "missing %s: the set has %d %s variants; name one", axisNames[a], sizes[a], axisNames[a])
		}
		if sc.Policy < 0 || sc.Facility < 0 || sc.Grid < 0 {
			continue
		}
		if sc.Name == "" {
			sc.Name = s.defaultName(sc)
		}
		s.Scenarios = append(s.Scenarios, sc)
	}
}

// validScenarioName allows the "+" that joins default names.
func validScenarioName(v string) bool {
	if len(v) > 128 || v == "" {
		return false
	}
	for _, part := range strings.Split(v, "+") {
		if !validName.MatchString(part) {
			return false
		}
	}
	return true
}

// pick finds a variant by name.
func (d *decoder) pick(line int, path, name string, n int, nameOf func(int) string) int {
	var all []string
	for i := range n {
		if nameOf(i) == name {
			return i
		}
		all = append(all, nameOf(i))
	}
	d.c.Add(line, path, "no variant named %q; the set has %s", yamlin.Truncate(name, 40), strings.Join(all, ", "))
	return -1
}

// uniqueNames reports two scenarios with one name, or with names that
// differ only in case: either way they would share an output directory
// (on a case-insensitive file system for the second).
func (d *decoder) uniqueNames(s *Set) {
	seen := map[string]int{}
	for i, sc := range s.Scenarios {
		key := strings.ToLower(sc.Name)
		j, dup := seen[key]
		switch {
		case !dup:
			seen[key] = i
		case s.Scenarios[j].Name == sc.Name:
			d.c.Add(sc.Line, "scenarios", "scenario name %q is used twice (first on line %d); give one its own name: {name: ..., %s: ...}", sc.Name, s.Scenarios[j].Line, s.firstAxis())
		default:
			d.c.Add(sc.Line, "scenarios", "scenario names %q and %q differ only in case: they would share an output directory on a case-insensitive file system; rename one", s.Scenarios[j].Name, sc.Name)
		}
	}
}

// firstAxis names the first axis with more than one variant, the one an
// explicit scenario names, for an example entry in a message.
func (s *Set) firstAxis() string {
	for a, n := range []int{len(s.Policies), len(s.Facilities), len(s.Grids)} {
		if n > 1 {
			return axisNames[a]
		}
	}
	return axisNames[0]
}

// PlanOutputs are the files `carnot plan` writes into its output
// directory itself, beside one directory per scenario: a scenario named
// like one of them (in any case, for case-insensitive file systems)
// would have its directory clash with the file, so none may be.
var PlanOutputs = []string{"plan.json", "plan.html"}

// outputNames reports the scenarios named like one of PlanOutputs, at
// the line of an explicit scenario, or of the variant that names one of
// the cross product.
func (d *decoder) outputNames(s *Set) {
	for _, sc := range s.Scenarios {
		if !slices.ContainsFunc(PlanOutputs, func(o string) bool { return strings.EqualFold(o, sc.Name) }) {
			continue
		}
		msg := fmt.Sprintf("scenario name %q is the name of a file carnot plan writes beside the scenarios' directories (%s); ",
			sc.Name, strings.Join(PlanOutputs, ", "))
		if sc.Line > 0 {
			d.c.Add(sc.Line, "scenarios", "%srename it", msg)
			continue
		}
		axes := [3]struct {
			path string
			name string
			line int
		}{{"policies", s.Policies[sc.Policy].Name, s.Policies[sc.Policy].Line},
			{"facilities", s.Facilities[sc.Facility].Name, s.Facilities[sc.Facility].Line},
			{"grids", s.Grids[sc.Grid].Name, s.Grids[sc.Grid].Line}}
		found := false
		for _, a := range axes {
			if found = a.name == sc.Name; found {
				d.c.Add(a.line, yamlin.Join(a.path, a.name), "%srename the variant", msg)
				break
			}
		}
		if !found {
			d.c.Add(0, "scenarios", "%srename it", msg)
		}
	}
}

// index returns the position of the scenario named name, or -1.
func (s *Set) index(name string) int {
	for i, sc := range s.Scenarios {
		if sc.Name == name {
			return i
		}
	}
	return -1
}

func (s *Set) names() string {
	var out []string
	for _, sc := range s.Scenarios {
		out = append(out, sc.Name)
	}
	if len(out) > 12 {
		out = append(out[:12], "…")
	}
	return strings.Join(out, ", ")
}
