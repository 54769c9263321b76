package sim

import (
	"math"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// Each hall's peak draw is its nodes' static power plus what the jobs on
// them draw above idle, measured as a site's is; summary.json reports it
// beside the hall's cap, and counts a hall above its cap.
func TestHallPeakAgainstItsCap(t *testing.T) {
	fac := facility(3)
	fac.Halls = []model.Hall{{ID: "par/h1", Site: "par", PowerCapKW: 13.2}, {ID: "par/h2", Site: "par"}}
	for i, h := range []string{"par/h1", "par/h1", "par/h2"} {
		fac.Nodes[i].Hall = h
	}
	jobs := []*model.Job{ // every GPU busy for an hour: each hall at its peak
		job("a", "acme", "normal", 1, 8, t0, model.Hour),
		job("b", "acme", "normal", 1, 8, t0, model.Hour),
		job("c", "beta", "normal", 1, 8, t0, model.Hour),
	}
	res, err := Run(Config{Facility: fac, Jobs: jobs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize(fac, res)
	node := 1000 + 8*70.0 // base and idle power
	busy := 8 * (0.8*700 - 70.0)
	want := map[string]HallSummary{
		"par/h1": {Site: "par", MaxITkW: 2 * (node + busy) / 1000, CapKW: 13.2, StaticKW: 2 * node / 1000},
		"par/h2": {Site: "par", MaxITkW: (node + busy) / 1000, StaticKW: node / 1000},
	}
	if len(s.Halls) != len(want) {
		t.Fatalf("halls %v, want %v", s.Halls, want)
	}
	for id, w := range want {
		g := s.Halls[id]
		if g.Site != w.Site || math.Abs(g.MaxITkW-w.MaxITkW) > 1e-6 || g.CapKW != w.CapKW || math.Abs(g.StaticKW-w.StaticKW) > 1e-6 {
			t.Errorf("hall %s: %+v, want %+v", id, g, w)
		}
	}
	if sum := s.Halls["par/h1"].MaxITkW + s.Halls["par/h2"].MaxITkW; math.Abs(sum-s.Sites["par"].MaxITkW) > 1e-6 {
		t.Errorf("the halls peak at %g kW together, the site at %g kW: all ran at once", sum, s.Sites["par"].MaxITkW)
	}
	if s.HallCapBreach != 0 {
		t.Errorf("%d halls above their cap, want 0", s.HallCapBreach)
	}
	// A cap below the peak (set after the run, which kept to the old one)
	// is counted.
	fac.Halls[0].PowerCapKW = 10
	if s := Summarize(fac, res); s.HallCapBreach != 1 {
		t.Errorf("with h1 capped at 10 kW: %d halls above their cap, want 1", s.HallCapBreach)
	}
}
