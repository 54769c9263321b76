package sched

import (
	"fmt"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

func smallFacility(nodes int) *model.Facility {
	f := &model.Facility{
		GPUModels: map[string]model.GPUModel{"H100": {TDPWatts: 700, IdleWatts: 70, MinCapWatts: 200, MaxCapWatts: 700}},
		Sites: []model.Site{
			{ID: "par", Country: "FR", Jurisdictions: []string{"EU", "FR"}, PowerEnvelopeKW: 1000, PUE: 1.2, GridZone: "FR"},
			{ID: "fra", Country: "DE", Jurisdictions: []string{"EU", "DE"}, PowerEnvelopeKW: 1000, PUE: 1.2, GridZone: "DE"},
		},
		Tenants: []model.Tenant{
			{Name: "acme", Cohort: "all", Quota: map[string]model.Quota{"H100": {Nominal: 16}}, Jurisdictions: []string{"FR"}},
			{Name: "beta", Cohort: "all", Quota: map[string]model.Quota{"H100": {Nominal: 16}}},
		},
		Cohorts:         []model.Cohort{{Name: "all"}},
		PriorityClasses: []model.PriorityClass{{Name: "high", Value: 100}, {Name: "normal", Value: 0, Preemptible: true}},
		Policy:          model.DefaultPolicy(),
	}
	for i := 0; i < nodes; i++ {
		site := "par"
		if i >= nodes/2 {
			site = "fra"
		}
		f.Nodes = append(f.Nodes, model.Node{Name: fmt.Sprintf("n%d", i+1), Site: site, Hall: site + "/h1", Rack: site + "/h1/r1",
			NVLinkDomain: fmt.Sprintf("nvl%d", i/2), GPUModel: "H100", GPUs: 8, CPUs: 128, MemoryGiB: 1024, BaseWatts: 1000})
	}
	return f
}

func job(id, tenant, class string, replicas, gpus int) *model.Job {
	return &model.Job{ID: id, Kind: model.KindJob, Tenant: tenant, PriorityClass: class, Replicas: replicas,
		GPUsPerReplica: gpus, RuntimeLimit: model.Hour, Topology: model.Topology{Level: model.LevelAny},
		Preemptible: class == "normal"}
}

func TestScheduleSmoke(t *testing.T) {
	f := smallFacility(4)
	snap := &model.Snapshot{Facility: f, Pending: []*model.Job{
		job("a1", "acme", "normal", 2, 8),
		job("a2", "acme", "normal", 1, 8),
		job("b1", "beta", "normal", 1, 4),
	}}
	p := Schedule(snap, 1000)
	var b strings.Builder
	for _, s := range p.Starts {
		fmt.Fprintf(&b, "start %s %v\n", s.Job, s.Replicas)
	}
	for _, s := range p.Pending {
		fmt.Fprintf(&b, "pending %s %s: %s (est %s)\n", s.Job, s.Code, s.Message, s.EstStart)
	}
	for _, r := range p.Reservations {
		fmt.Fprintf(&b, "reserve %s %v %s\n", r.Job, r.Nodes, r.EstStart)
	}
	t.Log("\n" + b.String())
	if len(p.Starts) != 2 || len(p.Pending) != 1 {
		t.Fatalf("got %d starts, %d pending", len(p.Starts), len(p.Pending))
	}
}
