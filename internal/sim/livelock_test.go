package sim

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/workload"
)

// A small generated workload with power caps and hourly prices ends in a
// bounded number of passes: no two jobs preempt each other forever (a
// claim change once made two jobs do so here, and a report test hung).
func TestNoPreemptionLivelock(t *testing.T) {
	fac := workload.GenerateFacility(workload.FacilityConfig{Nodes: 24, Sites: 2, Tenants: 4, Cohorts: 2, Seed: 3})
	var grid []model.GridSeries
	for _, s := range fac.Sites {
		gs := model.GridSeries{Zone: s.GridZone}
		for h := 0; h < 24*60; h++ {
			gs.Hours = append(gs.Hours, model.GridHour{Start: t0 + model.Time(h*3600),
				PriceEURMWh: float64(40 + (h*37)%90 - 20), CarbonGkWh: float64(20 + (h*13)%60)})
		}
		grid = append(grid, gs)
	}
	res, err := Run(Config{Facility: fac, Jobs: workload.Generate(fac, 150, 3, t0), Grid: grid, MaxPasses: 5000}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d passes", res.Passes)
}
