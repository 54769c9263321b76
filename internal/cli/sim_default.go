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
// embedded in the binary (internal/bundled): a facility in France, four
// days of the Philly trace moved into 2023, and the grid series of the
// zones the facility's sites use (FR).
func defaultSimInput() (*model.Facility, []*model.Job, []model.GridSeries, error) {
	fac, err := bundled.Facility()
	if err != nil {
		return nil, nil, nil, err
	}
	jobs, err := bundled.Jobs(fac)
	if err != nil {
		return nil, nil, nil, err
	}
	var series []model.GridSeries
	seen := map[string]bool{}
	for _, s := range fac.Sites {
		if s.GridZone == "" || seen[s.GridZone] {
			continue
		}
		seen[s.GridZone] = true
		gs, err := bundled.Grid(s.GridZone)
		if err != nil {
			return nil, nil, nil, err
		}
		series = append(series, gs)
	}
	return fac, jobs, series, nil
}

// noInput reports whether the command line names no input, so that the
// bundled default runs.
func (o *simOpts) noInput() bool {
	return o.facility == "" && o.workload == "" && o.philly == "" && o.vcNodes == ""
}

// simInputs picks what a run replays: simInput's files and the --grid
// series, or without input flags the bundled default, whose grid series
// --grid replaces.
func simInputs(o *simOpts) (*model.Facility, []*model.Job, []model.GridSeries, error) {
	if !o.noInput() {
		fac, jobs, err := simInput(o)
		if err != nil {
			return nil, nil, nil, err
		}
		if err := gridZonesUsed(fac, o.grid); err != nil {
			return nil, nil, nil, err
		}
		series, err := loadGrids(o.grid)
		if err != nil {
			return nil, nil, nil, err
		}
		return fac, jobs, series, nil
	}
	fac, jobs, series, err := defaultSimInput()
	if err != nil {
		return nil, nil, nil, err
	}
	if len(o.grid) > 0 {
		if err := gridZonesUsed(fac, o.grid); err != nil {
			return nil, nil, nil, err
		}
		if series, err = loadGrids(o.grid); err != nil {
			return nil, nil, nil, err
		}
	}
	return fac, jobs, series, nil
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
		zone, _, ok := strings.Cut(g, "=")
		if !ok || zones[zone] {
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
