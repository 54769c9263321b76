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
