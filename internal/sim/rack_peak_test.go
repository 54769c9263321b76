package sim

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// A rack with a power cap is reported as a hall is: its peak draw
// against its cap, and a count of the racks above it. Racks without a
// cap are left out, to keep summary.json small.
func TestRackPeakAgainstItsCap(t *testing.T) {
	fac := facility(3)
	fac.Halls = []model.Hall{{ID: "par/h1", Site: "par"}}
	fac.Racks = []model.Rack{{ID: "par/h1/r1", Hall: "par/h1", PowerCapKW: 13.2}, {ID: "par/h1/r2", Hall: "par/h1"}}
	for i, r := range []string{"par/h1/r1", "par/h1/r1", "par/h1/r2"} {
		fac.Nodes[i].Hall, fac.Nodes[i].Rack = "par/h1", r
	}
	jobs := []*model.Job{ // every GPU busy for an hour: each rack at its peak
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
	want := RackSummary{Hall: "par/h1", Site: "par", MaxITkW: 2 * (node + busy) / 1000, CapKW: 13.2, StaticKW: 2 * node / 1000}
	if len(s.Racks) != 1 {
		t.Fatalf("racks %v, want only the capped par/h1/r1", s.Racks)
	}
	g := s.Racks["par/h1/r1"]
	if g.Hall != want.Hall || g.Site != want.Site || math.Abs(g.MaxITkW-want.MaxITkW) > 1e-6 || g.CapKW != want.CapKW ||
		math.Abs(g.StaticKW-want.StaticKW) > 1e-6 {
		t.Errorf("rack par/h1/r1: %+v, want %+v", g, want)
	}
	if s.RackCapBreach != 0 {
		t.Errorf("%d racks above their cap, want 0", s.RackCapBreach)
	}
	// A cap below the peak (set after the run, which kept to the old one)
	// is counted.
	fac.Racks[0].PowerCapKW = 10
	s = Summarize(fac, res)
	if s.RackCapBreach != 1 {
		t.Errorf("with r1 capped at 10 kW: %d racks above their cap, want 1", s.RackCapBreach)
	}
	var buf bytes.Buffer
	if err := WriteSummary(&buf, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"racks": {`, `"par/h1/r1": {`, `"rack_cap_violations": 1`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("summary.json lacks %s:\n%s", want, buf.String())
		}
	}
}

// A facility without rack caps reports no racks: an empty map.
func TestNoRackCapNoRacks(t *testing.T) {
	fac := facility(2)
	res, err := Run(Config{Facility: fac, Jobs: []*model.Job{job("a", "acme", "normal", 1, 8, t0, model.Hour)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := Summarize(fac, res); len(s.Racks) != 0 || s.RackCapBreach != 0 {
		t.Errorf("racks %v, %d breaches; want none", s.Racks, s.RackCapBreach)
	}
}

// A rack that holds every node of its hall peaks where its hall does,
// through starts, preemptions, completions and node failures: the
// ledger looks only at the racks whose draw changed since the last
// event, and must miss no peak for it.
func TestRackPeakIsItsHallsWhenAlone(t *testing.T) {
	fac := facility(6)
	fac.Halls = []model.Hall{{ID: "par/h1", Site: "par"}, {ID: "par/h2", Site: "par"}}
	fac.Racks = []model.Rack{{ID: "par/h1/r1", Hall: "par/h1", PowerCapKW: 100}, {ID: "par/h2/r1", Hall: "par/h2", PowerCapKW: 100}}
	for i := range fac.Nodes {
		h := 1 + i%2
		fac.Nodes[i].Hall, fac.Nodes[i].Rack = fmt.Sprintf("par/h%d", h), fmt.Sprintf("par/h%d/r1", h)
	}
	var jobs []*model.Job
	for i := range 40 {
		class := "normal"
		if i%7 == 3 {
			class = "high"
		}
		jobs = append(jobs, job(fmt.Sprintf("j%02d", i), []string{"acme", "beta"}[i%2], class, 1+i%3, 8, t0+model.Time(i*900), model.Duration(1+i%5)*model.Hour))
	}
	res, err := Run(Config{Facility: fac, Jobs: jobs, MTBF: model.Day, MTTR: 2 * model.Hour, Seed: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Outages) == 0 {
		t.Fatal("no node failed: the test needs failures")
	}
	s := Summarize(fac, res)
	for _, h := range []string{"par/h1", "par/h2"} {
		if r, hall := s.Racks[h+"/r1"], s.Halls[h]; r.MaxITkW != hall.MaxITkW || r.StaticKW != hall.StaticKW {
			t.Errorf("rack %s/r1 peaks at %g kW (static %g), its hall at %g kW (static %g)", h, r.MaxITkW, r.StaticKW, hall.MaxITkW, hall.StaticKW)
		}
	}
}
