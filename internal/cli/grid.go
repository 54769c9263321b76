package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/carnot-dc/carnot/internal/bundled"
	"github.com/carnot-dc/carnot/internal/grid"
	"github.com/carnot-dc/carnot/internal/model"
)

// loadGrids reads --grid ZONE=CSV flags, at most one per zone (the
// core and the ledger each take a zone's series as the only one).
func loadGrids(specs []string) ([]model.GridSeries, error) {
	var out []model.GridSeries
	seen := map[string]string{}
	for _, g := range specs {
		zone, path, ok := strings.Cut(g, "=")
		if !ok || zone == "" || path == "" {
			return nil, usageError{fmt.Errorf("--grid %q: want ZONE=FILE, e.g. FR=fr-2023-hourly.csv", g)}
		}
		if prev, dup := seen[zone]; dup {
			return nil, usageError{fmt.Errorf("--grid %q: zone %s already has a series (--grid %s=%s); give one file per zone", g, zone, zone, prev)}
		}
		seen[zone] = path
		gs, err := grid.LoadFile(zone, path)
		var pe *fs.PathError
		if errors.As(err, &pe) { // a bad line names its file and line itself
			return nil, &wrapped{msg: fmt.Sprintf("--grid %s=%s: %v", zone, path, pe.Err), err: err}
		}
		if err != nil {
			return nil, err
		}
		out = append(out, gs)
	}
	return out, nil
}

// gridOf reads the --grid series, or the bundled ones (example prices
// and carbon for a development server) laid on the calendar of the
// year of now and the next, so that a server running past New Year
// still prices its energy.
func (o *serverOpts) gridOf(now time.Time) ([]model.GridSeries, error) {
	if len(o.grid) > 0 {
		return loadGrids(o.grid)
	}
	var out []model.GridSeries
	for _, z := range bundled.Zones() {
		g, err := bundled.Grid(z)
		if err != nil {
			return nil, err
		}
		out = append(out, onCalendar(g, now.Year(), now.Year()+1))
	}
	return out, nil
}

// onCalendar lays g, a year of hours, on the calendar of years: each
// hour takes the figures of the same date and hour in g (weekdays do not
// match). 29 February, which a series of a common year (as the bundled
// 2023) has not, repeats the 28th; an hour g has no figures for is left
// out.
func onCalendar(g model.GridSeries, years ...int) model.GridSeries {
	type hourOfYear struct {
		month     time.Month
		day, hour int
	}
	of := func(t time.Time) hourOfYear { return hourOfYear{t.Month(), t.Day(), t.Hour()} }
	by := make(map[hourOfYear]model.GridHour, len(g.Hours))
	for _, h := range g.Hours {
		by[of(time.Unix(int64(h.Start), 0).UTC())] = h
	}
	out := model.GridSeries{Zone: g.Zone}
	for _, y := range years {
		for t := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC); t.Year() == y; t = t.Add(time.Hour) {
			h, ok := by[of(t)]
			if !ok && t.Month() == time.February && t.Day() == 29 {
				h, ok = by[hourOfYear{time.February, 28, t.Hour()}]
			}
			if !ok {
				continue
			}
			h.Start = model.TimeOf(t)
			out.Hours = append(out.Hours, h)
		}
	}
	return out
}
