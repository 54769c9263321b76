package scenario

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/grid"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sim"
	"github.com/carnot-dc/carnot/internal/yamlin"
)

// Options are the inputs of Prepare that do not come from the file.
type Options struct {
	// Grid returns the series of a zone for a grid variant without a
	// file: (the CLI asks its --grid flags, then the bundled series). nil
	// makes such a variant an error; for the sites' own zones (no grids:
	// in the file) a zone it cannot give simply has no series.
	Grid func(zone string) (model.GridSeries, error)
}

// Case is one prepared scenario. Its sim.Config holds its own facility;
// the jobs are shared between cases, and Run gives each run its own
// copy of them when it starts (so only the running cases hold one). Grid
// series are shared and only read.
type Case struct {
	Scenario Scenario
	Axes     [3]string // policy, facility and grid variant names
	Config   sim.Config
}

// Prepare reads the files the set names and builds every scenario. It
// runs nothing, and returns an error when any scenario cannot be built,
// so that a mistake in the last variant is reported before hours of
// simulation rather than after.
func Prepare(s *Set, opt Options) ([]Case, error) {
	c := &yamlin.Collector{File: s.File, Max: maxErrors}
	base, err := facility.LoadFile(s.Facility)
	if err != nil {
		c.Add(s.facAt, "facility", "%s", fileProblem(s.Facility, err))
		return nil, c.Err()
	}
	jobs, own, err := s.Workload.jobs(base)
	if err != nil {
		var at setProblems
		if errors.As(err, &at) {
			for _, p := range at {
				c.Add(p.Line, p.Path, "%s", p.Msg)
			}
		} else {
			c.Add(s.Workload.Line, "workload", "%v", err)
		}
		return nil, c.Err()
	}
	facs := make([]*model.Facility, len(s.Facilities))
	jobsOf := make([][]*model.Job, len(s.Facilities)) // the jobs as the variant's classes have them
	zoned := []*model.Facility{base}                  // whose sites' zones own-zones prices
	for i, fv := range s.Facilities {
		from := base
		if fv.File != "" {
			at := "facilities." + fv.Name + ".facility"
			other, err := facility.LoadFile(fv.File)
			if err != nil {
				c.Add(fv.FileLine, at, "%s", fileProblem(fv.File, err))
				continue
			}
			if msg := misfit(jobs, base, other); msg != "" {
				c.Add(fv.FileLine, at, "%s %s; the workload is built for the base facility %s", fv.FileAs, msg, s.facAs)
				continue
			}
			from = other
			zoned = append(zoned, other)
			jobsOf[i] = forFacility(jobs, own, other)
		}
		f, err := fv.apply(from)
		if ce, ok := err.(capError); ok { // at the cap's own line
			c.Add(ce.pc.Line, "facilities."+fv.Name+".power_caps_kw."+ce.pc.ID, "%v", err)
			continue
		}
		if err != nil {
			c.Add(fv.Line, "facilities."+fv.Name, "%v", err)
			continue
		}
		facs[i] = f
	}
	grids := make([][]model.GridSeries, len(s.Grids))
	for i, gv := range s.Grids {
		grids[i] = gv.series(zoned, jobs, opt, c)
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	passes := s.MaxPasses
	if passes == 0 {
		passes = 200*len(jobs) + 10_000
	}
	cases := make([]Case, len(s.Scenarios))
	for i, sc := range s.Scenarios {
		f := clone(facs[sc.Facility])
		pv := s.Policies[sc.Policy]
		if f.Policy, err = pv.apply(f.Policy); err != nil {
			c.Add(pv.Line, "policies."+pv.Name, "with facility %s: %s", s.Facilities[sc.Facility].Name, policyMessage(err, true))
			continue
		}
		if z := s.Grids[sc.Grid].Zone; z != "" {
			for k := range f.Sites {
				f.Sites[k].GridZone = z
			}
		}
		js := jobsOf[sc.Facility]
		if js == nil {
			js = jobs
		}
		cases[i] = Case{Scenario: sc, Axes: s.Axes(sc),
			Config: sim.Config{Facility: f, Jobs: js, Grid: grids[sc.Grid], Seed: s.Seed, MaxPasses: passes,
				MTBF: s.Facilities[sc.Facility].MTBF, MTTR: s.Facilities[sc.Facility].MTTR,
				GPUMTBF: s.Facilities[sc.Facility].GPUMTBF, GPUMTTR: s.Facilities[sc.Facility].GPUMTTR}}
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	return cases, nil
}

// series loads a grid variant's series and checks that it covers the
// workload's submissions. Problems go to c.
func (gv GridVariant) series(facs []*model.Facility, jobs []*model.Job, opt Options, c *yamlin.Collector) []model.GridSeries {
	path := "grids." + gv.Name
	if gv.Zone == "" { // the sites' own zones (of every facility), where a series is known
		zones := map[string]bool{}
		for _, f := range facs {
			for _, s := range f.Sites {
				if s.GridZone != "" {
					zones[s.GridZone] = true
				}
			}
		}
		var out []model.GridSeries
		for _, z := range sortedKeys(zones) {
			if opt.Grid == nil {
				break
			}
			if gs, err := opt.Grid(z); err == nil && len(gs.Hours) > 0 {
				out = append(out, gs)
			}
		}
		return out
	}
	var gs model.GridSeries
	var err error
	switch {
	case gv.File != "":
		gs, err = grid.LoadFile(gv.Zone, gv.File)
	case opt.Grid != nil:
		gs, err = opt.Grid(gv.Zone)
	default:
		err = fmt.Errorf("no series for zone %s: give file: (an hourly CSV)", gv.Zone)
	}
	if err == nil && len(gs.Hours) == 0 {
		err = fmt.Errorf("the series of zone %s has no hours", gv.Zone)
	}
	if err != nil {
		c.Add(gv.Line, path, "%v", err)
		return nil
	}
	first, last := span(jobs)
	from, to := gs.Hours[0].Start, gs.Hours[len(gs.Hours)-1].Start+3600
	if first < from || last >= to {
		c.Add(gv.Line, path, "the workload is submitted from %s to %s but the %s series covers %s to %s; "+
			"move the workload with workload.shift_to (e.g. shift_to: %s)", first, last, gv.Zone, from, to, from)
		return nil
	}
	gs.Zone = gv.Zone
	return []model.GridSeries{gs}
}

// misfit says what the jobs, built for the base facility, need that f
// lacks: a tenant, a priority class, a node of any GPU model a job
// names, or a data class of base a job names (with how many jobs need
// it); "" when f has all of it. A data class f does not define fails
// closed, also when f defines none, as on the live server: the core
// would read it as a label there and run the job on any site. (A class
// base does not define either is a generated workload's label: the
// twin's loader refuses one in a job file.)
func misfit(jobs []*model.Job, base, f *model.Facility) string {
	tenants, classes, models := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, n := range f.Nodes {
		if n.GPUs > 0 {
			models[n.GPUModel] = true
		}
	}
	for _, t := range f.Tenants {
		tenants[t.Name] = true
	}
	for _, pc := range f.PriorityClasses {
		classes[pc.Name] = true
	}
	missing := map[string]int{}
	for _, j := range jobs {
		if !tenants[j.Tenant] {
			missing["tenant "+j.Tenant]++
		}
		if j.PriorityClass != "" && !classes[j.PriorityClass] {
			missing["priority class "+j.PriorityClass]++
		}
		if len(j.GPUModels) > 0 && !slices.ContainsFunc(j.GPUModels, func(m string) bool { return models[m] }) {
			missing["GPU model "+strings.Join(j.GPUModels, " or ")]++
		}
		if _, defined := base.DataClasses[j.DataClass]; defined && j.DataClass != "" {
			if _, ok := f.DataClasses[j.DataClass]; !ok {
				missing["data class "+j.DataClass]++
			}
		}
	}
	if len(missing) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(missing)) {
		n := missing[k]
		parts = append(parts, fmt.Sprintf("no %s (%d %s of the workload)", k, n, plural(n, "job", "jobs")))
	}
	if len(parts) > 5 {
		parts = append(parts[:5], fmt.Sprintf("and %d more", len(parts)-5))
	}
	return "has " + strings.Join(parts, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// fileProblem words a loader's error: a file that cannot be read by
// its path, a file with problems by its own file:line list.
func fileProblem(path string, err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Sprintf("cannot read %s: %v", path, pe.Err)
	}
	return fmt.Sprintf("%s has problems:\n%v", path, err)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
