package cli

import (
	"cmp"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/bundled"
	"github.com/carnot-dc/carnot/internal/model"
)

// TestLoadGridsRepeatedZone: two --grid flags for one zone are refused.
// The core weighed both series for deferral while the twin's ledger
// priced with the last and `carnot plan` with the first, so a run
// mixed two series without a word.
func TestLoadGridsRepeatedZone(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "fr.csv")
	if err := os.WriteFile(csv, []byte("datetime_utc,ci_direct_gco2_per_kwh,price_eur_per_mwh\n2023-01-01T00:00:00Z,1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := loadGrids([]string{"FR=" + csv, "DE=" + csv, "FR=" + csv})
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `--grid "FR=`) || !strings.Contains(err.Error(), "zone FR") {
		t.Fatalf("loadGrids with FR twice: %v, want a usage error naming the repeated zone FR", err)
	}
	if gs, err := loadGrids([]string{"FR=" + csv, "DE=" + csv}); err != nil || len(gs) != 2 {
		t.Fatalf("loadGrids FR and DE: %d series, %v", len(gs), err)
	}
}

// The bundled series (2023, 8760 hours) a development server prices
// with cover, hour by hour, the year the server starts in and the next:
// one moved to the start's year alone left 31 December of a leap year
// without a price or carbon figure, and a server running past New Year
// had none from 1 January on. Each date has the figures of the same
// date in 2023; 29 February repeats the 28th.
func TestBundledGridCoversThisYearAndNext(t *testing.T) {
	src := map[string]model.GridSeries{}
	for _, z := range bundled.Zones() {
		g, err := bundled.Grid(z)
		if err != nil {
			t.Fatal(err)
		}
		src[z] = g
	}
	at := func(g model.GridSeries, tm time.Time) (model.GridHour, bool) {
		i, ok := slices.BinarySearchFunc(g.Hours, model.TimeOf(tm), func(h model.GridHour, t model.Time) int { return cmp.Compare(h.Start, t) })
		if !ok {
			return model.GridHour{}, false
		}
		return g.Hours[i], true
	}
	for _, start := range []time.Time{
		time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC), // a New Year's Eve start
		time.Date(2028, 6, 1, 0, 0, 0, 0, time.UTC),    // a leap year
		time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC),    // the next is one
	} {
		gs, err := (&serverOpts{}).gridOf(start)
		if err != nil {
			t.Fatal(err)
		}
		if len(gs) != len(src) {
			t.Fatalf("%d series, want one per bundled zone (%d)", len(gs), len(src))
		}
		for _, g := range gs {
			from := time.Date(start.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
			to := time.Date(start.Year()+2, 1, 1, 0, 0, 0, 0, time.UTC)
			if want := int(to.Sub(from).Hours()); len(g.Hours) != want {
				t.Errorf("start %s, zone %s: %d hours, want %d, from %s to %s", start, g.Zone, len(g.Hours), want, from, to)
			}
			for tm := from; tm.Before(to); tm = tm.Add(time.Hour) {
				h, ok := at(g, tm)
				if !ok {
					t.Errorf("start %s, zone %s: no hour %s", start, g.Zone, tm)
					break
				}
				day := tm.Day()
				if tm.Month() == time.February && day == 29 {
					day = 28
				}
				want, _ := at(src[g.Zone], time.Date(2023, tm.Month(), day, tm.Hour(), 0, 0, 0, time.UTC))
				if h.PriceEURMWh != want.PriceEURMWh || h.CarbonGkWh != want.CarbonGkWh {
					t.Errorf("start %s, zone %s, %s: %v EUR/MWh %v g/kWh, want 2023's %v, %v", start, g.Zone, tm,
						h.PriceEURMWh, h.CarbonGkWh, want.PriceEURMWh, want.CarbonGkWh)
					break
				}
			}
		}
	}
}

// TestGridFileMissing: a --grid file that cannot be opened failed with
// "open F: no such file or directory" alone, naming neither the flag nor
// the zone, where a bad line names its file and line. It names
// --grid ZONE=FILE and the cause, once, as a failure (exit 1).
func TestGridFileMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "fr.csv")
	for _, args := range [][]string{
		{"sim", "--out", t.TempDir(), "--grid", "FR=" + missing},
		{"schedule", "--facility", smallFacility, "--workload", smallJobs, "--grid", "FR=" + missing},
	} {
		code, _, errs := carnot(args...)
		want := "error: --grid FR=" + missing + ": no such file or directory\n"
		if code != ExitFailure || errs != want {
			t.Errorf("%s: exit %d, stderr %q\nwant exit %d, stderr %q", args[0], code, errs, ExitFailure, want)
		}
	}
}
