package cli

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/carnot-dc/carnot/internal/bundled"
	"github.com/carnot-dc/carnot/internal/model"
)

// defaultSimOut is where `carnot sim` writes when --out is not given.
const defaultSimOut = "carnot-sim"

// defaultSimInput is the scenario of `carnot sim` without input flags,
// embedded in the binary (internal/bundled): a facility in France and
// four days of the Philly trace moved into 2023. Its site draws from
// zone FR, which siteGrids prices with the built-in series.
func defaultSimInput() (*model.Facility, []*model.Job, error) {
	fac, err := bundled.Facility()
	if err != nil {
		return nil, nil, err
	}
	jobs, err := bundled.Jobs(fac)
	if err != nil {
		return nil, nil, err
	}
	return fac, jobs, nil
}

// noInput reports whether the command line names no input, so that the
// bundled default runs.
func (o *simOpts) noInput() bool {
	return o.facility == "" && o.workload == "" && o.philly == "" && o.vcNodes == ""
}

// simInputs picks what a run replays: simInput's files or, without
// input flags, the bundled default, shaped by --window, --sample and
// --arrival-rate (the Philly reader shapes the trace itself); and the
// grid series of its sites' zones (siteGrids).
func simInputs(o *simOpts) (*model.Facility, []*model.Job, []model.GridSeries, error) {
	var fac *model.Facility
	var jobs []*model.Job
	var err error
	if o.noInput() {
		fac, jobs, err = defaultSimInput()
	} else {
		fac, jobs, err = simInput(o)
	}
	if err == nil && o.philly == "" {
		var note string
		var left int
		if jobs, note, left, err = o.m.shape(jobs); note != "" {
			o.notes, o.leftOut = append(o.notes, note), o.leftOut+left
		}
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if err := gridZonesUsed(fac, o.grid); err != nil {
		return nil, nil, nil, err
	}
	flags, err := loadGrids(o.grid)
	if err != nil {
		return nil, nil, nil, err
	}
	series, err := siteGrids(fac, flags)
	if err != nil {
		return nil, nil, nil, err
	}
	return fac, jobs, series, nil
}

// siteGrids gives every zone a site of fac draws from its series: the
// --grid one, else the 2023 one built into carnot (bundled.Zones), as
// carnot plan does. A zone with neither has none: its sites cost
// nothing and emit nothing, and the run says so.
func siteGrids(fac *model.Facility, flags []model.GridSeries) ([]model.GridSeries, error) {
	out := slices.Clone(flags)
	have := map[string]bool{}
	for _, gs := range flags {
		have[gs.Zone] = true
	}
	for _, s := range fac.Sites {
		z := s.GridZone
		if z == "" || have[z] || !slices.Contains(bundled.Zones(), z) {
			continue
		}
		gs, err := bundled.Grid(z)
		if err != nil {
			return nil, err
		}
		have[z] = true
		out = append(out, gs)
	}
	return out, nil
}

// gridZonesUsed checks that every --grid ZONE=CSV names a zone a site of
// fac draws from: a series for another zone would be dropped, and the
// run priced at nothing, without a word.
func gridZonesUsed(fac *model.Facility, specs []string) error {
	zones := map[string]bool{}
	for _, s := range fac.Sites {
		if s.GridZone != "" {
			zones[s.GridZone] = true
		}
	}
	for _, g := range specs {
		zone, path, ok := strings.Cut(g, "=")
		if !ok || zone == "" || path == "" || zones[zone] {
			continue // loadGrids says what is wrong with the flag
		}
		have := "its sites have no grid zone"
		if len(zones) > 0 {
			have = "its sites' zones: " + strings.Join(slices.Sorted(maps.Keys(zones)), ", ")
		}
		return usageError{fmt.Errorf("--grid %s: no site of the facility draws from zone %s (%s)", g, zone, have)}
	}
	return nil
}
