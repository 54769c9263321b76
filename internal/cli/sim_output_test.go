package cli

import (
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/sim"
)

// A --philly run has a site per VC, none with a grid zone: the note that
// no series covers them was printed once per site (14 lines for the
// Sep–Oct trace). Sites that share the reason share one note; a reason
// of one site keeps its own.
func TestUnpricedSitesShareANote(t *testing.T) {
	var b strings.Builder
	noteUnpriced(&b, [][2]string{{"a1", ""}, {"b2", "PL"}, {"c3", ""}}, nil)
	want := "note: no grid series covers the 2 sites a1, c3 during the run: they have no grid_zone, so their cost and carbon are 0\n" +
		"note: no grid series covers site b2 during the run: zone PL has no built-in series, so its cost and carbon are 0 (--grid PL=CSV)\n"
	if b.String() != want {
		t.Errorf("notes:\n%s\nwant:\n%s", b.String(), want)
	}
}

// The run's line counted "1 preemptions" (and would have "1 jobs", "1
// scheduling passes"); plural counts read as before.
func TestSimLineCounts(t *testing.T) {
	var one, many sim.Summary
	one.Jobs, one.Finished, one.Preemptions, one.Passes = 1, 1, 1, 1
	many.Jobs, many.Finished, many.Preemptions, many.Passes = 3734, 3734, 135, 5187
	for _, c := range []struct {
		sum  sim.Summary
		want string
	}{
		{one, "1 job: 1 finished, 0 never started; mean JCT 0 s, mean wait 0 s; 1 preemption; 1 scheduling pass"},
		{many, "3734 jobs: 3734 finished, 0 never started; mean JCT 0 s, mean wait 0 s; 135 preemptions; 5187 scheduling passes"},
	} {
		if got := simLine(c.sum); got != c.want {
			t.Errorf("got  %q\nwant %q", got, c.want)
		}
	}
}
