package cli

import (
	"strings"
	"testing"
)

// A --philly run has a site per VC, none with a grid zone: the note that
// no series covers them was printed once per site (14 lines for the
// Sep–Oct trace). Sites that share the reason share one note; a reason
// of one site keeps its own.
func TestUnpricedSitesShareANote(t *testing.T) {
	var b strings.Builder
	noteUnpriced(&b, [][2]string{
		{"a1", "it has no grid_zone, so its cost and carbon are 0"},
		{"b2", "zone PL has no built-in series, so its cost and carbon are 0 (--grid PL=CSV)"},
		{"c3", "it has no grid_zone, so its cost and carbon are 0"},
	})
	want := "note: no grid series covers the 2 sites a1, c3 during the run: they have no grid_zone, so their cost and carbon are 0\n" +
		"note: no grid series covers site b2 during the run: zone PL has no built-in series, so its cost and carbon are 0 (--grid PL=CSV)\n"
	if b.String() != want {
		t.Errorf("notes:\n%s\nwant:\n%s", b.String(), want)
	}
}
