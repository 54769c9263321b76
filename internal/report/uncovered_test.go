package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sim"
)

// TestPartialGridNote: a run longer than its grid series gets a note
// under the zone's charts saying how much energy cost and carbon leave
// out; a run the series covers gets none.
func TestPartialGridNote(t *testing.T) {
	in := run(t)
	page := func(in Input) string {
		var b bytes.Buffer
		if err := Write(&b, in); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	const note = "the series does not cover the whole run"
	if in.Summary.Total.UnpricedMWh != 0 {
		t.Fatalf("the full series leaves %.3f MWh unpriced", in.Summary.Total.UnpricedMWh)
	}
	if strings.Contains(page(in), note) {
		t.Error("a run inside its series got the partial-coverage note")
	}
	rerunOnTwoDays(t, &in)
	if in.Summary.Total.UnpricedMWh <= 0 {
		t.Fatal("two days of series left nothing unpriced: the run is too short to test")
	}
	if got := strings.Count(page(in), note); got != len(in.Grid) {
		t.Errorf("%d partial-coverage notes, want one per zone (%d)", got, len(in.Grid))
	}
}

// rerunOnTwoDays replays in's jobs again with the first two days of each
// zone's series alone.
func rerunOnTwoDays(t *testing.T, in *Input) {
	t.Helper()
	for i := range in.Grid {
		in.Grid[i].Hours = in.Grid[i].Hours[:48]
	}
	res, err := sim.Run(sim.Config{Facility: in.Facility, Jobs: jobsOf(in.Result), Grid: in.Grid}, nil)
	if err != nil {
		t.Fatal(err)
	}
	in.Result, in.Summary = res, sim.Summarize(in.Facility, res)
}

func jobsOf(r *sim.Result) []*model.Job {
	jobs := make([]*model.Job, len(r.Jobs))
	for i := range r.Jobs {
		jobs[i] = r.Jobs[i].Job
	}
	return jobs
}

// TestGridChartEndsWithItsSeries: a zone's price and carbon lines stop
// at the end of the last hour the series holds; drawn on to the right
// edge, they showed a price and an intensity for hours the series does
// not hold (and that cost and carbon leave out).
func TestGridChartEndsWithItsSeries(t *testing.T) {
	in := run(t)
	rerunOnTwoDays(t, &in)
	res := in.Result
	end := in.Grid[0].Hours[47].Start + 3600
	if end >= res.End {
		t.Fatalf("the series ends at %s, after the run (%s): nothing to test", end, res.End)
	}
	want := px(newScale(float64(res.Start), float64(res.End), marginL, 720-marginR, false).at(float64(end)))
	var b bytes.Buffer
	if err := Write(&b, in); err != nil {
		t.Fatal(err)
	}
	charts := 0
	for _, svg := range strings.Split(b.String(), "<svg")[1:] {
		if svg = svg[:strings.Index(svg, "</svg>")]; !strings.Contains(svg, "Grid zone ") {
			continue
		}
		charts++
		d := svg[strings.Index(svg, `<path class="line"`):]
		d = d[strings.Index(d, ` d="`)+4:]
		d = d[:strings.Index(d, `"`)]
		if got := d[strings.LastIndex(d, "H")+1:]; got != want {
			t.Errorf("a grid line ends at x = %s px, want %s (the end of the series' last hour, %s)", got, want, end)
		}
	}
	if charts != 2*len(in.Grid) {
		t.Errorf("%d grid charts, want %d", charts, 2*len(in.Grid))
	}
}

// TestUncoveredNoteIsDeterministic: the note adds up the unpriced energy
// of a zone's sites; added in the map's order, which changes from run to
// run, three sites whose sum lies at a rounding boundary read 1.23 MWh
// in one run and 1.24 MWh in another (the same run must give the same
// bytes).
func TestUncoveredNoteIsDeterministic(t *testing.T) {
	r := &sim.Result{Sites: map[string]sim.SiteEnergy{}}
	zoneOf := map[string]string{}
	for i, kwh := range []float64{550.7137288057418, 115.29499151677678, 568.9912796774814} {
		id := string(rune('a' + i))
		zoneOf[id] = "FR"
		r.Sites[id] = sim.SiteEnergy{All: sim.Energy{FacilitykWh: 2 * kwh, UnpricedkWh: kwh}}
	}
	want := uncovered(r, zoneOf, "FR")
	for range 200 {
		if got := uncovered(r, zoneOf, "FR"); got != want {
			t.Fatalf("the same run gives two notes:\n%s\n%s", want, got)
		}
	}
}
