package plan_test

import "github.com/carnot-dc/carnot/internal/model"

// Small builders for the fixtures of this package's tests.

func h100() model.GPUModel {
	return model.GPUModel{Name: "H100", TDPWatts: 700, IdleWatts: 70, MinCapWatts: 200, MaxCapWatts: 700}
}

func a100() model.GPUModel {
	return model.GPUModel{Name: "A100", TDPWatts: 400, IdleWatts: 50, MinCapWatts: 100, MaxCapWatts: 400}
}

func node(name, site, gpuModel string) model.Node {
	return model.Node{Name: name, Site: site, Hall: site + "-h1", Rack: site + "-r1", GPUModel: gpuModel,
		GPUs: 8, CPUs: 64, MemoryGiB: 512, BaseWatts: 1000}
}

// job builds a gang of replicas × gpus.
func job(id, tenant string, replicas, gpus int) *model.Job {
	return &model.Job{ID: id, Kind: model.KindJob, Tenant: tenant, Replicas: replicas, GPUsPerReplica: gpus,
		CPUsPerReplica: 8, MemGiBPerReplica: 64, Topology: model.Topology{Level: model.LevelAny}}
}

func place(node string, gpus ...int) model.Placement { return model.Placement{Node: node, GPUs: gpus} }

func seq(from, to int) []int {
	var s []int
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

const t0 model.Time = 1767225600 // 2026-01-01T00:00:00Z

// fixture returns a small facility with one running job, two pending
// jobs and a valid plan that starts j1 and leaves j2 pending.
//
//	par (EU, FR, 40 kW): n1, n2 H100×8     fra (EU, DE): n3 A100×8
//	tenants: acme (FR only), beta (any), solo (node-exclusive);
//	         each with a nominal quota of 16 H100 and 8 A100, no cohort
//	classes: low (10), high (100)
//	running: r1 (beta, low) on n2:0-3, preemptible, grace 10m
//	pending: j1 (acme) 2×4 GPUs, j2 (beta, high) 1×2 GPUs
func fixture() (*model.Snapshot, *model.Plan) {
	fac := &model.Facility{
		Name:      "test",
		GPUModels: map[string]model.GPUModel{"H100": h100(), "A100": a100()},
		Sites: []model.Site{
			{ID: "par", Country: "FR", Jurisdictions: []string{"EU", "FR"}, PowerEnvelopeKW: 40},
			{ID: "fra", Country: "DE", Jurisdictions: []string{"EU", "DE"}},
		},
		Halls: []model.Hall{{ID: "par-h1", Site: "par"}, {ID: "fra-h1", Site: "fra"}},
		Racks: []model.Rack{{ID: "par-r1", Hall: "par-h1"}, {ID: "fra-r1", Hall: "fra-h1"}},
		Nodes: []model.Node{node("n1", "par", "H100"), node("n2", "par", "H100"), node("n3", "fra", "A100")},
		Tenants: []model.Tenant{
			{Name: "acme", Jurisdictions: []string{"FR"}, Quota: quotas(16, 8)},
			{Name: "beta", Quota: quotas(16, 8)},
			{Name: "solo", Exclusive: model.ExclusiveNode, Quota: quotas(16, 8)},
		},
		PriorityClasses: []model.PriorityClass{{Name: "low", Value: 10}, {Name: "high", Value: 100}},
		Policy:          model.DefaultPolicy(),
	}
	fac.Policy.PowerRecap = true // off by default; the recap tests need it
	r1 := job("r1", "beta", 1, 4)
	r1.PriorityClass = "low"
	r1.Preemptible = true
	r1.CheckpointGrace = 10 * model.Minute
	j2 := job("j2", "beta", 1, 2)
	j2.PriorityClass = "high"
	snap := &model.Snapshot{
		Facility: fac,
		Running:  []model.Allocation{{Job: r1, Started: t0 - 3600, Replicas: []model.Placement{place("n2", seq(0, 3)...)}}},
		Pending:  []*model.Job{job("j1", "acme", 2, 4), j2},
	}
	p := &model.Plan{
		Now:     t0,
		Starts:  []model.Start{{Job: "j1", Replicas: []model.Placement{place("n1", seq(0, 3)...), place("n1", seq(4, 7)...)}}},
		Pending: []model.Pending{{Job: "j2", Code: model.ReasonPriority, Message: "behind j1"}},
	}
	return snap, p
}

// quotas is a nominal quota of h H100 and a A100, without limits.
func quotas(h, a int) map[string]model.Quota {
	return map[string]model.Quota{"H100": {Nominal: h}, "A100": {Nominal: a}}
}

func ptr(n int) *int { return &n }
