package sim

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/workload"
)

// A run that lasts no time (its one job can never start: it asks for
// more GPUs than the facility has) peaks at the draw of its first
// instant, every node idle, not at 0 kW.
func TestPeakOfARunOfNoLength(t *testing.T) {
	fac := workload.GenerateFacility(workload.FacilityConfig{Nodes: 4, Sites: 1, Tenants: 1, Cohorts: 1, Seed: 1})
	job := &model.Job{ID: "huge", Tenant: fac.Tenants[0].Name, Kind: model.KindJob, Replicas: 1000, GPUsPerReplica: 8,
		RuntimeLimit: model.Hour, SubmitTime: t0}
	res, err := Run(Config{Facility: fac, Jobs: []*model.Job{job}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.End != res.Start {
		t.Fatalf("the run lasts %s; the test needs one of no length", res.End.Sub(res.Start))
	}
	static := StaticWatts(fac)
	for _, site := range fac.Sites {
		if got, want := res.Sites[site.ID].MaxITW, static[site.ID]; got != want || want <= 0 {
			t.Errorf("site %s peaks at %.0f W; want its idle draw, %.0f W", site.ID, got, want)
		}
	}
}

// PowerSeries.Max is the highest draw during [a, b), 0 outside the run:
// a window after the run's end, or one of no length, read the draw in
// force at the end (or at a) instead.
func TestPowerSeriesMaxOutsideTheRun(t *testing.T) {
	p := PowerSeries{StaticW: 100, Times: []model.Time{t0, t0 + 60}, Watts: []float64{100, 500}, End: t0 + 120}
	for _, c := range []struct {
		a, b model.Time
		want float64
	}{
		{t0, t0 + 120, 500}, {t0, t0 + 60, 100}, {t0 + 90, t0 + 100, 500}, {t0 - 60, t0 + 30, 100},
		{t0 - 60, t0, 0},        // before the run
		{t0 + 120, t0 + 180, 0}, // after its end
		{t0 + 200, t0 + 300, 0}, // well after it
		{t0 + 30, t0 + 30, 0},   // no length
	} {
		if got := p.Max(c.a, c.b); got != c.want {
			t.Errorf("Max(%s, %s) = %g W, want %g W", c.a, c.b, got, c.want)
		}
	}
}
