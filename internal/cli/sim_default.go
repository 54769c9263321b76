package cli

import (
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
		if series, err = loadGrids(o.grid); err != nil {
			return nil, nil, nil, err
		}
	}
	return fac, jobs, series, nil
}
