// Package grid reads hourly electricity-grid series (carbon intensity and
// day-ahead price) into model.GridSeries. The CSV format is the one of
// the reference data: a header naming at least datetime_utc,
// ci_direct_gco2_per_kwh and price_eur_per_mwh (a UTF-8 byte-order mark
// before it is skipped), one row per consecutive hour, its start an
// RFC 3339 time (in UTC as the column's name says; a time with another
// offset, 2023-01-01T01:00:00+01:00, is read as the instant it names).
// Prices may be negative, carbon intensities may not; values beyond
// MaxCarbon and MaxPrice are errors (a typo or a wrong unit), as no grid
// has them.
package grid

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/yamlin"
)

// Error names the file, line and column of a bad value.
type Error struct {
	File   string
	Line   int
	Column string
	Msg    string
}

func (e *Error) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Column, e.Msg)
}

// Columns read from the CSV.
const (
	ColTime   = "datetime_utc"
	ColCarbon = "ci_direct_gco2_per_kwh"
	ColPrice  = "price_eur_per_mwh"
)

// Bounds of the values, far beyond any grid's: the dirtiest grids emit
// about 1,200 gCO2e/kWh (lignite), and day-ahead markets cap their
// prices at a few thousand EUR/MWh (4,000 in the EU in 2023, floor
// -500). Beyond them a value is a typo or a wrong unit, and a value near
// the float64 limit would make cost and carbon totals overflow to +Inf.
const (
	MaxCarbon = 10_000  // gCO2e/kWh
	MaxPrice  = 100_000 // EUR/MWh, either sign
)

// LoadFile reads the series of zone from a CSV file.
func LoadFile(zone, path string) (model.GridSeries, error) {
	f, err := os.Open(path)
	if err != nil {
		return model.GridSeries{}, err
	}
	defer f.Close()
	return Read(zone, path, f)
}

// parseError is the error of the CSV reader's syntax error pe, in words
// that say what to fix (yamlin.CSVSyntax).
func parseError(name string, pe *csv.ParseError) *Error {
	line, _, msg := yamlin.CSVSyntax(pe)
	return &Error{File: name, Line: line, Msg: msg}
}

// Read parses a CSV series; name is used in errors. Hours must be
// consecutive (the core indexes them by offset).
func Read(zone, name string, r io.Reader) (model.GridSeries, error) {
	gs := model.GridSeries{Zone: zone}
	br := bufio.NewReader(r)
	if bom, err := br.Peek(3); err == nil && string(bom) == "\ufeff" {
		br.Discard(3) // a UTF-8 byte-order mark, as spreadsheet tools write: not part of the header
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return gs, parseError(name, pe)
		}
		if errors.Is(err, io.EOF) {
			return gs, &Error{File: name, Line: 1, Msg: "empty file; want a header with " + ColTime + "," + ColCarbon + "," + ColPrice}
		}
		return gs, &Error{File: name, Line: 1, Msg: err.Error()}
	}
	headerLine, _ := cr.FieldPos(0)
	col := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(h) // "a, b": spaces after the commas are no part of the names
		first, dup := col[h]
		if !dup {
			col[h] = i
			continue
		}
		switch h {
		case ColTime, ColCarbon, ColPrice: // which one was meant is not for carnot to guess
			return gs, &Error{File: name, Line: headerLine, Column: h, Msg: fmt.Sprintf("column named twice in the header (columns %d and %d); keep one", first+1, i+1)}
		}
	}
	for _, c := range []string{ColTime, ColCarbon, ColPrice} {
		if _, ok := col[c]; !ok {
			return gs, &Error{File: name, Line: headerLine, Column: c, Msg: fmt.Sprintf("missing column; the header must name %s, %s and %s (it names %s)",
				ColTime, ColCarbon, ColPrice, headerNames(header))}
		}
	}
	prevLine := 0 // line of the last hour kept
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return gs, &Error{File: name, Msg: err.Error()}
			}
			if errors.Is(pe.Err, csv.ErrFieldCount) {
				return gs, &Error{File: name, Line: pe.Line, Msg: fmt.Sprintf("row has %d fields, the header %d; every row needs one value per header column", len(rec), len(header))}
			}
			return gs, parseError(name, pe)
		}
		line, _ := cr.FieldPos(0)
		field := func(c string) string {
			if i := col[c]; i < len(rec) {
				return rec[i]
			}
			return ""
		}
		t, err := time.Parse(time.RFC3339, field(ColTime))
		if err != nil {
			return gs, &Error{File: name, Line: line, Column: ColTime, Msg: fmt.Sprintf("%q is not an RFC 3339 time like 2023-01-01T00:00:00Z", field(ColTime))}
		}
		var h model.GridHour
		h.Start = model.TimeOf(t)
		if h.Start%3600 != 0 || t.Nanosecond() != 0 {
			return gs, &Error{File: name, Line: line, Column: ColTime, Msg: fmt.Sprintf("%q is not the start of an hour; each row is the hour beginning at HH:00:00", field(ColTime))}
		}
		for _, p := range []struct {
			c   string
			dst *float64
		}{{ColCarbon, &h.CarbonGkWh}, {ColPrice, &h.PriceEURMWh}} {
			// NaN and ±Inf parse but are no price or intensity: they
			// would poison every total priced with them
			v, err := strconv.ParseFloat(field(p.c), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return gs, &Error{File: name, Line: line, Column: p.c, Msg: fmt.Sprintf("%q is not a number", field(p.c))}
			}
			*p.dst = v
		}
		// a day-ahead price may be negative (markets clear below zero
		// in sunny, windy hours); an emission intensity may not
		if h.CarbonGkWh < 0 {
			return gs, &Error{File: name, Line: line, Column: ColCarbon, Msg: fmt.Sprintf("%s is negative; want gCO2e/kWh of 0 or more", field(ColCarbon))}
		}
		if h.CarbonGkWh > MaxCarbon {
			return gs, &Error{File: name, Line: line, Column: ColCarbon, Msg: fmt.Sprintf("%s is above %d gCO2e/kWh, more than any grid emits; check the value and its unit", field(ColCarbon), MaxCarbon)}
		}
		if math.Abs(h.PriceEURMWh) > MaxPrice {
			return gs, &Error{File: name, Line: line, Column: ColPrice, Msg: fmt.Sprintf("%s is beyond ±%d EUR/MWh, far past any market's price cap; check the value and its unit", field(ColPrice), MaxPrice)}
		}
		if n := len(gs.Hours); n > 0 {
			prev := gs.Hours[n-1].Start
			switch {
			case h.Start == prev && h == gs.Hours[n-1]:
				continue // the same row repeated: nothing is lost
			case h.Start == prev:
				return gs, &Error{File: name, Line: line, Column: ColTime, Msg: fmt.Sprintf("hour %s repeats line %d with other values; keep one row per hour", h.Start, prevLine)}
			case h.Start != prev+3600:
				return gs, &Error{File: name, Line: line, Column: ColTime, Msg: fmt.Sprintf("hour %s does not follow %s; the series must be consecutive and sorted", h.Start, prev)}
			}
		}
		gs.Hours = append(gs.Hours, h)
		prevLine = line
	}
	if len(gs.Hours) == 0 {
		return gs, &Error{File: name, Line: 1, Msg: "no rows"}
	}
	return gs, nil
}

// headerNames lists a header's names for a message: at most eight, each
// cut at 40 bytes, so that a data row read as the header stays short.
func headerNames(header []string) string {
	var out []string
	for i, h := range header {
		if i == 8 {
			out = append(out, fmt.Sprintf("and %d more", len(header)-i))
			break
		}
		h = strings.TrimSpace(h)
		if len(h) > 40 {
			h = strings.ToValidUTF8(h[:40], "") + "…"
		}
		out = append(out, fmt.Sprintf("%q", h))
	}
	return strings.Join(out, ", ")
}
