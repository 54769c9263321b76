package scenario

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/bundled"
)

// "What does capping the hall cost?" needs the hall's peak against its
// cap: plan.json and plan.html showed the site's peak and envelope only.
// Each scenario now lists its sites' and halls' peaks against their
// envelope or cap, and the metrics give the highest peak / hall cap.
func TestPlanShowsHallPeakAgainstCap(t *testing.T) {
	s, err := Load("testdata/hall.yaml", []byte(`
facility: lab4.yaml
workload:
  generate: {jobs: 120, seed: 5, start: 2023-05-01T00:00:00Z, load: 0.9}
facilities:
  base: {}
  hall-18kW: {power_caps_kw: {par1/h1: 18}}
grids:
  FR: {zone: FR}
`))
	if err != nil {
		t.Fatal(err)
	}
	cases, err := Prepare(s, Options{Grid: bundled.Grid})
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(context.Background(), cases, RunOptions{Parallel: 2})
	if err != nil {
		t.Fatal(err)
	}
	var js bytes.Buffer
	if err := NewPlan(s, out).WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var p struct {
		Scenarios []struct {
			Name    string
			Metrics map[string]float64
			Sites   []map[string]any
			Halls   []map[string]any
		}
	}
	if err := json.Unmarshal(js.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	for i, wantCap := range []float64{0, 18} {
		sc := p.Scenarios[i]
		if len(sc.Halls) != 1 || len(sc.Sites) != 1 {
			t.Fatalf("%s: sites %v, halls %v; want one of each", sc.Name, sc.Sites, sc.Halls)
		}
		h, site := sc.Halls[0], sc.Sites[0]
		if h["id"] != "par1/h1" || h["site"] != "par1" || h["cap_kw"] != wantCap || h["nameplate_kw"] != 30.4 {
			t.Errorf("%s: hall %v, want par1/h1 of par1 capped at %g kW, nameplate 30.4 kW", sc.Name, h, wantCap)
		}
		// one hall: it draws what its site draws
		if h["max_it_kw"] != site["max_it_kw"] || site["envelope_kw"] != 30.4 {
			t.Errorf("%s: hall %v, site %v: the one hall peaks where its site does", sc.Name, h, site)
		}
		peak := h["max_it_kw"].(float64)
		if wantCap > 0 && (peak > wantCap+1e-9 || h["peak_over_cap"].(float64) != round(peak/wantCap) ||
			sc.Metrics["peak_over_hall_cap"] != h["peak_over_cap"]) {
			t.Errorf("%s: hall %v, peak_over_hall_cap %v", sc.Name, h, sc.Metrics["peak_over_hall_cap"])
		}
		if wantCap == 0 && (peak <= 18 || sc.Metrics["peak_over_hall_cap"] != 0) {
			t.Errorf("%s: uncapped hall %v, peak_over_hall_cap %v: the test needs a peak above 18 kW", sc.Name, h, sc.Metrics["peak_over_hall_cap"])
		}
	}
	var page strings.Builder
	if err := NewPlan(s, out).WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`data-key="hall.par1/h1.max_it_kw"`, `data-key="site.par1.max_it_kw"`, `data-key="peak_over_hall_cap"`} {
		if strings.Count(page.String(), want) < 2 {
			t.Errorf("the page has %q %d times, want one per scenario", want, strings.Count(page.String(), want))
		}
	}
}

// A capped rack is reported as a hall is: plan.json lists each scenario's
// capped racks against their cap, the metrics give the highest peak /
// rack cap and the racks above it, and plan.html shows them.
func TestPlanShowsRackPeakAgainstCap(t *testing.T) {
	s, err := Load("testdata/rack.yaml", []byte(`
facility: lab4.yaml
workload:
  generate: {jobs: 120, seed: 5, start: 2023-05-01T00:00:00Z, load: 0.9}
facilities:
  base: {}
  rack-18kW: {power_caps_kw: {par1/h1/r1: 18}}
grids:
  FR: {zone: FR}
`))
	if err != nil {
		t.Fatal(err)
	}
	cases, err := Prepare(s, Options{Grid: bundled.Grid})
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(context.Background(), cases, RunOptions{Parallel: 2})
	if err != nil {
		t.Fatal(err)
	}
	var js bytes.Buffer
	if err := NewPlan(s, out).WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var p struct {
		Scenarios []struct {
			Name    string
			Metrics map[string]float64
			Halls   []map[string]any
			Racks   []map[string]any
		}
	}
	if err := json.Unmarshal(js.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	for i, wantCap := range []float64{30.4, 18} {
		sc := p.Scenarios[i]
		if len(sc.Racks) != 1 || len(sc.Halls) != 1 {
			t.Fatalf("%s: halls %v, racks %v; want one of each", sc.Name, sc.Halls, sc.Racks)
		}
		r, h := sc.Racks[0], sc.Halls[0]
		if r["id"] != "par1/h1/r1" || r["hall"] != "par1/h1" || r["site"] != "par1" || r["cap_kw"] != wantCap || r["nameplate_kw"] != 30.4 {
			t.Errorf("%s: rack %v, want par1/h1/r1 of par1/h1 capped at %g kW, nameplate 30.4 kW", sc.Name, r, wantCap)
		}
		// one rack in the hall: it draws what its hall draws
		peak := r["max_it_kw"].(float64)
		if peak != h["max_it_kw"] || peak > wantCap+1e-9 || r["peak_over_cap"].(float64) != round(peak/wantCap) ||
			sc.Metrics["peak_over_rack_cap"] != r["peak_over_cap"] || sc.Metrics["rack_cap_violations"] != 0 {
			t.Errorf("%s: rack %v, hall %v, peak_over_rack_cap %v, rack_cap_violations %v", sc.Name, r, h,
				sc.Metrics["peak_over_rack_cap"], sc.Metrics["rack_cap_violations"])
		}
	}
	if p.Scenarios[0].Racks[0]["max_it_kw"].(float64) <= 18 {
		t.Errorf("the uncapped rack peaks at %v: the test needs a peak above 18 kW", p.Scenarios[0].Racks[0]["max_it_kw"])
	}
	var page strings.Builder
	if err := NewPlan(s, out).WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`data-key="rack.par1/h1/r1.max_it_kw"`, `data-key="peak_over_rack_cap"`} {
		if strings.Count(page.String(), want) < 2 {
			t.Errorf("the page has %q %d times, want one per scenario", want, strings.Count(page.String(), want))
		}
	}
}

// A scenario with many capped racks (the benchmark facility caps 2,160)
// lists in plan.html's power table only the racks closest to their cap;
// plan.json has them all.
func TestPlanPageShowsClosestRacks(t *testing.T) {
	s := ScenarioSummary{Name: "big"}
	for i := range 30 {
		s.Racks = append(s.Racks, RackPower{ID: fmt.Sprintf("s/h/r%02d", i), Hall: "s/h", Site: "s", MaxITkW: float64(i), CapKW: 40,
			PeakOverCap: float64(i) / 40})
	}
	p := Plan{Name: "t", Baseline: "big", Scenarios: []ScenarioSummary{s}}
	var page strings.Builder
	if err := p.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	text := page.String()
	if n := strings.Count(text, `data-key="rack.`); n != maxRackRows {
		t.Errorf("%d rack rows, want %d", n, maxRackRows)
	}
	if !strings.Contains(text, `data-key="rack.s/h/r29.max_it_kw"`) || strings.Contains(text, fmt.Sprintf(`data-key="rack.s/h/r%02d.max_it_kw"`, 29-maxRackRows)) {
		t.Errorf("the rows are not the %d racks closest to their cap", maxRackRows)
	}
	if want := fmt.Sprintf("the %d of its 30 capped racks closest to their cap", maxRackRows); !strings.Contains(text, want) {
		t.Errorf("the page does not say %q", want)
	}
}
