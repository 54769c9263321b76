// Package bundled holds the default scenario of the digital twin, embedded
// in the binary so that `carnot sim` runs with no input files: a facility
// in France (data/facility.yaml), four days of the Microsoft Philly GPU
// trace (data/philly-2017-09-24_to_2017-09-27.csv) and the 2023 hourly
// grid series of France and Germany (data/fr-2023-hourly.csv,
// data/de-2023-hourly.csv). data/README.md gives the provenance, the
// licences and what was cut.
//
// Everything is read through the same parsers as files on disk
// (facility.Load, trace.ReadPhilly, grid.Read), so a mistake in the
// embedded data is reported with its file and line, the file named by
// its path in the repository (internal/bundled/data/...).
//
// The trace's submit times are moved forward by TraceShift, from
// September 2017 into September 2023, so that the jobs run under the
// 2023 grid prices and carbon intensities; the shift is a whole number
// of weeks, so every job keeps its date, weekday and time of day.
package bundled

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/grid"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/trace"
)

//go:embed data
var data embed.FS

// The embedded files, as paths inside the package.
const (
	FacilityFile = "data/facility.yaml"
	TraceFile    = "data/philly-2017-09-24_to_2017-09-27.csv"
)

// gridFiles maps each bundled grid zone to its series.
var gridFiles = map[string]string{
	"FR": "data/fr-2023-hourly.csv",
	"DE": "data/de-2023-hourly.csv",
}

// TraceShift moves the trace's submit times from 2017 into 2023, where
// the bundled grid series are: 2,191 days (313 weeks), from Sunday
// 2017-09-24 to Sunday 2023-09-24. 2017 and 2023 share their calendar,
// so dates and weekdays are kept.
const TraceShift = 2191 * model.Day

// TenantPrefix is put before each Philly VC id to make the tenant name
// in data/facility.yaml: VC 6214e9 is tenant vc-6214e9.
const TenantPrefix = "vc-"

// displayName is how an embedded file is named in errors: its path in
// the repository, where it can be fixed.
func displayName(path string) string { return "internal/bundled/" + path }

// Facility loads the bundled facility: one site in France (grid zone FR)
// with 48 8×H100 nodes, one tenant per Philly VC of the trace slice in a
// single cohort, and the default policy.
func Facility() (*model.Facility, error) {
	b, err := data.ReadFile(FacilityFile)
	if err != nil {
		return nil, fmt.Errorf("bundled: %w", err)
	}
	return facility.Load(displayName(FacilityFile), b)
}

// Jobs reads the bundled slice of the Philly trace for fac (normally
// Facility()): one gang per row (see trace.ReadPhilly) of tenant
// TenantPrefix + VC in priority class "normal", its submit time moved by
// TraceShift, sorted by (SubmitTime, ID). The trace's jobs are DNN
// training runs, which checkpoint: each job is preemptible when its class
// is (the twin resumes a preempted job from its last checkpoint). Every
// job's tenant and class must exist in fac, and fac must be able to run
// every job. The VCs go onto fac's tenants by trace.OntoFacility, as
// `carnot workload philly --tenant-prefix vc-` puts them.
func Jobs(fac *model.Facility) ([]*model.Job, error) {
	if fac == nil {
		return nil, fmt.Errorf("bundled: Jobs needs a facility (bundled.Facility())")
	}
	f, err := data.Open(TraceFile)
	if err != nil {
		return nil, fmt.Errorf("bundled: %w", err)
	}
	defer f.Close()
	name := displayName(TraceFile)
	jobs, err := trace.ReadPhilly(name, f, trace.Options{})
	if err != nil {
		return nil, err
	}
	jobs, notes, err := trace.OntoFacility(fac, jobs, trace.Mapping{Prefix: TenantPrefix})
	if err != nil {
		return nil, fmt.Errorf("%s onto facility %s: %w", name, fac.Name, err)
	}
	if len(notes) > 0 { // the default replays every job of the slice
		return nil, fmt.Errorf("%s onto facility %s: %s", name, fac.Name, strings.Join(notes, "; "))
	}
	for _, j := range jobs {
		j.SubmitTime = j.SubmitTime.Add(TraceShift)
	}
	return jobs, nil
}

// Zones lists the zones of the bundled grid series, sorted.
func Zones() []string {
	zs := make([]string, 0, len(gridFiles))
	for z := range gridFiles {
		zs = append(zs, z)
	}
	slices.Sort(zs)
	return zs
}

// Grid reads the bundled 2023 hourly series (price and carbon intensity)
// of zone, one of Zones().
func Grid(zone string) (model.GridSeries, error) {
	path, ok := gridFiles[zone]
	if !ok {
		return model.GridSeries{}, fmt.Errorf("bundled: no grid series for zone %q; bundled zones: %s", zone, strings.Join(Zones(), ", "))
	}
	f, err := data.Open(path)
	if err != nil {
		return model.GridSeries{}, fmt.Errorf("bundled: %w", err)
	}
	defer f.Close()
	return grid.Read(zone, displayName(path), f)
}

// Files is the embedded data directory (the files above, README.md and
// the licence and notice files), rooted at data/.
func Files() fs.FS {
	sub, err := fs.Sub(data, "data")
	if err != nil {
		panic(err) // "data" is a valid path: cannot happen
	}
	return sub
}
