package grid

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadSmall(t *testing.T) {
	in := "datetime_utc,ci_direct_gco2_per_kwh,price_eur_per_mwh\n" +
		"2023-01-01T00:00:00Z,35.34,-0.1\n2023-01-01T01:00:00Z,36.53,-1.33\n2023-01-01T01:00:00Z,36.53,-1.33\n"
	gs, err := Read("FR", "x.csv", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(gs.Hours) != 2 || gs.Hours[1].CarbonGkWh != 36.53 || gs.Hours[0].PriceEURMWh != -0.1 {
		t.Fatalf("got %+v", gs.Hours)
	}
}

// TestReadBOM: a file saved with a UTF-8 byte-order mark (as some
// spreadsheet tools write CSV) was refused with "datetime_utc: missing
// column", the mark being read as part of the first header. The other
// readers of carnot skip it; so does this one.
func TestReadBOM(t *testing.T) {
	in := "\ufeffdatetime_utc,ci_direct_gco2_per_kwh,price_eur_per_mwh\n2023-01-01T00:00:00Z,35.34,-0.1\n"
	gs, err := Read("FR", "x.csv", strings.NewReader(in))
	if err != nil || len(gs.Hours) != 1 || gs.Hours[0].CarbonGkWh != 35.34 {
		t.Fatalf("Read with a BOM: %+v, %v", gs.Hours, err)
	}
	// a bad value still names its line: the mark shifts no line
	_, err = Read("FR", "x.csv", strings.NewReader("\ufeffdatetime_utc,ci_direct_gco2_per_kwh,price_eur_per_mwh\n2023-01-01T00:00:00Z,x,1\n"))
	if want := "x.csv:2: ci_direct_gco2_per_kwh:"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("bad value after a BOM: %v, want %q…", err, want)
	}
}

// TestReadHeaderSpaces: a header written with a space after each comma
// (as people type it, and as the trace readers accept it) was refused
// with "ci_direct_gco2_per_kwh: missing column", the column being there.
func TestReadHeaderSpaces(t *testing.T) {
	in := "datetime_utc, ci_direct_gco2_per_kwh , price_eur_per_mwh\r\n2023-01-01T00:00:00Z,35.34,-0.1\r\n"
	gs, err := Read("FR", "x.csv", strings.NewReader(in))
	if err != nil || len(gs.Hours) != 1 || gs.Hours[0].CarbonGkWh != 35.34 || gs.Hours[0].PriceEURMWh != -0.1 {
		t.Fatalf("Read = %+v, %v; want one hour of 35.34 g and -0.1 EUR", gs.Hours, err)
	}
}

func TestReadErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "x.csv:1: empty file"},
		// a header without the columns said which, not what the header
		// should be
		{"a,b\n", "x.csv:1: datetime_utc: missing column; the header must name datetime_utc, ci_direct_gco2_per_kwh and price_eur_per_mwh (it names \"a\", \"b\")"},
		{"datetime_utc,ci_direct_gco2_per_kwh,price_eur_per_mwh\n2023-01-01,1,2\n", "x.csv:2: datetime_utc:"},
		{"datetime_utc,ci_direct_gco2_per_kwh,price_eur_per_mwh\n2023-01-01T00:00:00Z,x,2\n", "x.csv:2: ci_direct_gco2_per_kwh: \"x\" is not a number"},
		{"datetime_utc,ci_direct_gco2_per_kwh,price_eur_per_mwh\n2023-01-01T00:00:00Z,1,2\n2023-01-01T03:00:00Z,1,2\n", "x.csv:3: datetime_utc: hour"},
		// a repeated hour with other values: keeping the first dropped
		// the second silently
		{"datetime_utc,ci_direct_gco2_per_kwh,price_eur_per_mwh\n2023-01-01T00:00:00Z,1,2\n2023-01-01T01:00:00Z,1,2\n2023-01-01T01:00:00Z,99,99\n", "x.csv:4: datetime_utc: hour 2023-01-01T01:00:00Z repeats line 3 with other values"},
		// non-finite values: a NaN price made the twin fail to write
		// summary.json after the whole run ("json: unsupported value")
		{"datetime_utc,ci_direct_gco2_per_kwh,price_eur_per_mwh\n2023-01-01T00:00:00Z,1,NaN\n", "x.csv:2: price_eur_per_mwh: \"NaN\" is not a number"},
		{"datetime_utc,ci_direct_gco2_per_kwh,price_eur_per_mwh\n2023-01-01T00:00:00Z,1,2\n2023-01-01T01:00:00Z,+Inf,2\n", "x.csv:3: ci_direct_gco2_per_kwh: \"+Inf\" is not a number"},
		{"datetime_utc,ci_direct_gco2_per_kwh,price_eur_per_mwh\n2023-01-01T00:00:00Z,-infinity,2\n", "x.csv:2: ci_direct_gco2_per_kwh: \"-infinity\" is not a number"},
		// a negative intensity was accepted and made deferral seek the
		// hour with "negative" emissions; prices may be negative
		// (day-ahead markets clear below zero), carbon may not
		{"datetime_utc,ci_direct_gco2_per_kwh,price_eur_per_mwh\n2023-01-01T00:00:00Z,1,2\n2023-01-01T01:00:00Z,-3.5,2\n", "x.csv:3: ci_direct_gco2_per_kwh: -3.5 is negative; want gCO2e/kWh of 0 or more"},
		// values no grid has: 1e308 was accepted and made carnot sim
		// fail after the whole run ("json: unsupported value: +Inf"),
		// the cost of an hour overflowing
		{"datetime_utc,ci_direct_gco2_per_kwh,price_eur_per_mwh\n2023-01-01T00:00:00Z,1e308,2\n", "x.csv:2: ci_direct_gco2_per_kwh: 1e308 is above 10000 gCO2e/kWh"},
		{"datetime_utc,ci_direct_gco2_per_kwh,price_eur_per_mwh\n2023-01-01T00:00:00Z,1,2\n2023-01-01T01:00:00Z,1,-1e308\n", "x.csv:3: price_eur_per_mwh: -1e308 is beyond ±100000 EUR/MWh"},
		// a column read twice: the last one was used, silently; here it
		// put hour 05:00 first
		{"datetime_utc,ci_direct_gco2_per_kwh,price_eur_per_mwh,datetime_utc\n2023-01-01T00:00:00Z,1,2,2023-01-01T05:00:00Z\n", "x.csv:1: datetime_utc: column named twice in the header (columns 1 and 4); keep one"},
		// a blank line before the header: the header's line
		{"\ndatetime_utc,price_eur_per_mwh\n", "x.csv:2: ci_direct_gco2_per_kwh: missing column; the header must name"},
		// a fraction of a second past the hour passed the hour check,
		// cut off by the conversion to whole seconds
		{"datetime_utc,ci_direct_gco2_per_kwh,price_eur_per_mwh\n2023-01-01T00:00:00.5Z,1,2\n", "x.csv:2: datetime_utc: \"2023-01-01T00:00:00.5Z\" is not the start of an hour"},
		// a short row: encoding/csv's bare "wrong number of fields"
		{"datetime_utc,ci_direct_gco2_per_kwh,price_eur_per_mwh\n2023-01-01T00:00:00Z,1,2\n2023-01-01T01:00:00Z,1\n", "x.csv:3: row has 2 fields, the header 3; every row needs one value per header column"},
		// encoding/csv's own words, and a quote left open named the
		// last line of the file, where the reader gave up, not the one
		// it opens on
		{"datetime_utc,ci_direct_gco2_per_kwh,price_eur_per_mwh\n2023-01-01T00:00:00Z,1,2\n2023-01-01T01:00:00Z,\"1,2\n2023-01-01T02:00:00Z,1,2\n2023-01-01T03:00:00Z,1,2\n",
			`x.csv:3: a quoted value that opens on this line is not closed (the reader looked for its end up to line 5); end it with '"' right before the ',' or the line end, and double any '"' inside it`},
		{"datetime_utc,ci_direct_gco2_per_kwh,price_eur_per_mwh\n2023-01-01T00:00:00Z,1\"0,2\n",
			`x.csv:2: a '"' inside an unquoted value; quote the whole value and double the '"' inside it`},
		{"datetime_utc,\"ci_direct_gco2_per_kwh,price_eur_per_mwh\n",
			`x.csv:1: a quoted value is not closed properly; end it with '"' right before the ',' or the line end, and double any '"' inside it`},
	} {
		_, err := Read("FR", "x.csv", strings.NewReader(tc.in))
		var ge *Error
		if !errors.As(err, &ge) || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("Read(%q) = %v, want prefix %q", tc.in, err, tc.want)
		}
	}
}

// TestReferenceData reads the shared 2023 French series when it is
// present beside the project (it is in CI and development checkouts).
func TestReferenceData(t *testing.T) {
	path := filepath.Join("..", "..", "..", "shared", "data", "grid", "fr-2023-hourly.csv")
	if _, err := os.Stat(path); err != nil {
		t.Skip("reference data not present beside the project")
	}
	gs, err := LoadFile("FR", path)
	if err != nil {
		t.Fatal(err)
	}
	if len(gs.Hours) < 8750 {
		t.Fatalf("read %d hours", len(gs.Hours))
	}
}

func FuzzRead(f *testing.F) {
	f.Add("datetime_utc,ci_direct_gco2_per_kwh,price_eur_per_mwh\n2023-01-01T00:00:00Z,35.34,-0.1\n")
	f.Add("datetime_utc,price_eur_per_mwh\n\"")
	f.Fuzz(func(t *testing.T, in string) {
		gs, err := Read("Z", "f.csv", strings.NewReader(in))
		if err == nil && len(gs.Hours) == 0 {
			t.Fatal("no error and no hours")
		}
		for _, h := range gs.Hours {
			if err == nil && !(h.CarbonGkWh >= 0 && h.CarbonGkWh <= MaxCarbon && math.Abs(h.PriceEURMWh) <= MaxPrice) {
				t.Fatalf("value out of range accepted: %+v", h)
			}
			for _, v := range []float64{h.CarbonGkWh, h.PriceEURMWh} {
				if err == nil && (math.IsNaN(v) || math.IsInf(v, 0)) {
					t.Fatalf("non-finite value accepted: %+v", h)
				}
			}
		}
		var ge *Error
		if err != nil && !errors.As(err, &ge) {
			t.Fatalf("error without position: %v", err)
		}
	})
}
