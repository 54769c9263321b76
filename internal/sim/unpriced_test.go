package sim

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/workload"
)

// TestUnpricedEnergy: energy drawn in hours that a site's grid series
// does not hold is counted as unpriced, and cost and carbon are exactly
// the priced rest at the series' (flat) price and intensity. A site of
// a zone without a series draws only unpriced energy.
func TestUnpricedEnergy(t *testing.T) {
	fac := workload.GenerateFacility(workload.FacilityConfig{Nodes: 40, Sites: 2, Tenants: 6, Cohorts: 2, Seed: 3})
	const price, carbon = 100.0, 50.0 // EUR/MWh, g/kWh
	covered := fac.Sites[0].GridZone
	gs := model.GridSeries{Zone: covered}
	for h := 0; h < 24*5; h++ { // the first five days only
		gs.Hours = append(gs.Hours, model.GridHour{Start: t0 + model.Time(h*3600), PriceEURMWh: price, CarbonGkWh: carbon})
	}
	if fac.Sites[1].GridZone == covered {
		fac.Sites[1].GridZone = covered + "-other"
	}
	res, err := Run(Config{Facility: fac, Jobs: workload.Generate(fac, 200, 3, t0), Grid: []model.GridSeries{gs}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.End <= t0.Add(5*model.Day) {
		t.Fatalf("the run ends at %s, inside the series: the test needs a longer one", res.End)
	}
	for _, site := range fac.Sites {
		s := res.Sites[site.ID]
		for _, e := range []struct {
			part string
			e    Energy
		}{{"all", s.All}, {"jobs", s.Jobs}, {"idle", s.Idle}} {
			priced := e.e.FacilitykWh - e.e.UnpricedkWh
			if site.GridZone != covered {
				if e.e.UnpricedkWh != e.e.FacilitykWh || e.e.CostEUR != 0 || e.e.CarbonKg != 0 {
					t.Errorf("site %s (no series) %s: %+v; want all of it unpriced, no cost or carbon", site.ID, e.part, e.e)
				}
				continue
			}
			if e.e.UnpricedkWh <= 0 || priced <= 0 {
				t.Errorf("site %s %s: %.3f kWh unpriced of %.3f; want part of it", site.ID, e.part, e.e.UnpricedkWh, e.e.FacilitykWh)
			}
			if want := priced / 1000 * price; abs(e.e.CostEUR-want) > 1e-9*want {
				t.Errorf("site %s %s: cost %.6f EUR, want %.6f for the %.3f priced kWh", site.ID, e.part, e.e.CostEUR, want, priced)
			}
			if want := priced * carbon / 1000; abs(e.e.CarbonKg-want) > 1e-9*want {
				t.Errorf("site %s %s: carbon %.6f kg, want %.6f", site.ID, e.part, e.e.CarbonKg, want)
			}
		}
	}
	sum := Summarize(fac, res)
	if u := sum.Total.UnpricedMWh; u <= 0 || u >= sum.Total.FacilityMWh {
		t.Errorf("summary: %.3f MWh unpriced of %.3f", u, sum.Total.FacilityMWh)
	}
}
