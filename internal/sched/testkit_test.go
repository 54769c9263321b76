package sched_test

import (
	"fmt"

	"github.com/carnot-dc/carnot/internal/model"
)

// The test kit: a GPU catalog and small builders (in the style of
// Kubernetes' scheduler testing wrappers) shared by the scenario scripts
// and the property tests. Builders fill in the defaults a realistic
// facility has, so a test states only what it is about.

// gpuCatalog is the test kit's own catalog, so scenarios do not depend
// on the product's. Figures are SXM boards at their default limits.
var gpuCatalog = map[string]model.GPUModel{
	"H100":  {Name: "H100", Vendor: "nvidia", MemoryGiB: 80, TDPWatts: 700, IdleWatts: 70, MinCapWatts: 200, MaxCapWatts: 700, BF16TFLOPS: 989, Source: "testkit"},
	"H200":  {Name: "H200", Vendor: "nvidia", MemoryGiB: 141, TDPWatts: 700, IdleWatts: 70, MinCapWatts: 200, MaxCapWatts: 700, BF16TFLOPS: 989, Source: "testkit"},
	"A100":  {Name: "A100", Vendor: "nvidia", MemoryGiB: 80, TDPWatts: 400, IdleWatts: 50, MinCapWatts: 100, MaxCapWatts: 400, BF16TFLOPS: 312, Source: "testkit"},
	"GB300": {Name: "GB300", Vendor: "nvidia", MemoryGiB: 288, TDPWatts: 1400, IdleWatts: 150, MinCapWatts: 700, MaxCapWatts: 1400, BF16TFLOPS: 2500, Source: "testkit"},
}

// t0 is the scenarios' default clock: 2026-01-01T00:00:00Z.
const t0 model.Time = 1767225600

// newFacility returns an empty facility with the kit's catalog and the
// default policy.
func newFacility() *model.Facility {
	models := make(map[string]model.GPUModel, len(gpuCatalog))
	for k, v := range gpuCatalog {
		models[k] = v
	}
	return &model.Facility{Name: "test", GPUModels: models, Policy: model.DefaultPolicy()}
}

// nodeW builds a node.
type nodeW struct{ model.Node }

// makeNode returns an 8×H100 node with its own NVLink domain in the
// site's first hall and rack.
// oneSite gives f one site, s1 (FR, tagged EU), of the given envelope,
// with one hall and one rack, both uncapped.
func oneSite(f *model.Facility, envelopeKW float64) {
	f.Sites = []model.Site{{ID: "s1", Name: "s1", Country: "FR", Jurisdictions: []string{"EU"}, PUE: 1.2, GridZone: "FR", PowerEnvelopeKW: envelopeKW}}
	f.Halls = []model.Hall{{ID: "s1-h1", Site: "s1", Cooling: model.CoolingLiquid}}
	f.Racks = []model.Rack{{ID: "s1-r1", Hall: "s1-h1", Cooling: model.CoolingLiquid}}
}

func makeNode(name, site string) *nodeW {
	return &nodeW{model.Node{
		Name: name, Site: site, Hall: site + "-h1", Rack: site + "-r1", NVLinkDomain: name,
		Leaf: site + "-leaf1", Spine: "spine", GPUModel: "H100", GPUs: 8, CPUs: 128, MemoryGiB: 1024, BaseWatts: 800,
	}}
}

func (w *nodeW) Model(m string, gpus int) *nodeW   { w.GPUModel, w.GPUs = m, gpus; return w }
func (w *nodeW) Place(hall, rack string) *nodeW    { w.Hall, w.Rack = hall, rack; return w }
func (w *nodeW) Fabric(nvlink, leaf string) *nodeW { w.NVLinkDomain, w.Leaf = nvlink, leaf; return w }
func (w *nodeW) Size(cpus, memGiB int, base float64) *nodeW {
	w.CPUs, w.MemoryGiB, w.BaseWatts = cpus, memGiB, base
	return w
}
func (w *nodeW) Obj() model.Node { return w.Node }

// jobW builds a job.
type jobW struct{ j *model.Job }

// makeJob returns a one-replica, one-GPU gang with any topology.
func makeJob(id, tenant string) *jobW {
	return &jobW{&model.Job{
		ID: id, Kind: model.KindJob, Tenant: tenant, Replicas: 1, GPUsPerReplica: 1,
		CPUsPerReplica: 4, MemGiBPerReplica: 32, Topology: model.Topology{Level: model.LevelAny},
	}}
}

func (w *jobW) Gang(replicas, gpus int) *jobW {
	w.j.Replicas, w.j.GPUsPerReplica = replicas, gpus
	return w
}
func (w *jobW) Deployment(replicas, min, gpus int) *jobW {
	w.j.Kind, w.j.Replicas, w.j.MinReplicas, w.j.GPUsPerReplica = model.KindDeployment, replicas, min, gpus
	return w
}
func (w *jobW) Class(c string, preemptible bool) *jobW {
	w.j.PriorityClass, w.j.Preemptible = c, preemptible
	return w
}
func (w *jobW) Models(m ...string) *jobW     { w.j.GPUModels = m; return w }
func (w *jobW) Jur(tags ...string) *jobW     { w.j.Jurisdictions = tags; return w }
func (w *jobW) Limit(d model.Duration) *jobW { w.j.RuntimeLimit = d; return w }
func (w *jobW) Grace(d model.Duration) *jobW { w.j.CheckpointGrace = d; return w }
func (w *jobW) Submit(t model.Time) *jobW    { w.j.SubmitTime = t; return w }
func (w *jobW) Window(from, deadline model.Time) *jobW {
	w.j.EarliestStart, w.j.Deadline = from, deadline
	return w
}
func (w *jobW) Topo(l model.TopologyLevel, required bool) *jobW {
	w.j.Topology = model.Topology{Level: l, Required: required}
	return w
}
func (w *jobW) Exclusive() *jobW { w.j.ExclusiveNode = true; return w }
func (w *jobW) Resources(cpus, mem int) *jobW {
	w.j.CPUsPerReplica, w.j.MemGiBPerReplica = cpus, mem
	return w
}
func (w *jobW) Obj() *model.Job { return w.j }

// quota returns a quota with optional borrowing and lending limits
// (negative = unlimited).
func quota(nominal, borrow, lend int) model.Quota {
	q := model.Quota{Nominal: nominal}
	if borrow >= 0 {
		q.BorrowingLimit = &borrow
	}
	if lend >= 0 {
		q.LendingLimit = &lend
	}
	return q
}

// allocation returns a running allocation of j at the given placements.
func allocation(j *model.Job, started model.Time, pls ...model.Placement) model.Allocation {
	return model.Allocation{Job: j, Started: started, Replicas: pls}
}

// gpuRange returns [from, from+n).
func gpuRange(from, n int) []int {
	g := make([]int, n)
	for i := range g {
		g[i] = from + i
	}
	return g
}

// cloneSnapshot deep-copies a snapshot so tests can check that the core
// leaves its input alone and feed the core reordered copies.
func cloneSnapshot(s *model.Snapshot) *model.Snapshot {
	c := *s
	f := *s.Facility
	f.GPUModels = make(map[string]model.GPUModel, len(s.Facility.GPUModels))
	for k, v := range s.Facility.GPUModels {
		f.GPUModels[k] = v
	}
	f.Sites = append([]model.Site(nil), s.Facility.Sites...)
	for i := range f.Sites {
		f.Sites[i].Jurisdictions = append([]string(nil), f.Sites[i].Jurisdictions...)
	}
	f.Halls = append([]model.Hall(nil), s.Facility.Halls...)
	f.Racks = append([]model.Rack(nil), s.Facility.Racks...)
	f.Nodes = append([]model.Node(nil), s.Facility.Nodes...)
	f.Tenants = append([]model.Tenant(nil), s.Facility.Tenants...)
	for i := range f.Tenants {
		t := &f.Tenants[i]
		t.Quota = cloneQuotas(t.Quota)
		t.Jurisdictions = append([]string(nil), t.Jurisdictions...)
		t.PriorityClasses = append([]string(nil), t.PriorityClasses...)
	}
	f.Cohorts = append([]model.Cohort(nil), s.Facility.Cohorts...)
	for i := range f.Cohorts {
		f.Cohorts[i].Quota = cloneQuotas(f.Cohorts[i].Quota)
	}
	f.PriorityClasses = append([]model.PriorityClass(nil), s.Facility.PriorityClasses...)
	c.Facility = &f
	c.Nodes = append([]model.NodeState(nil), s.Nodes...)
	for i := range c.Nodes {
		c.Nodes[i].GPUs = append([]model.GPUState(nil), c.Nodes[i].GPUs...)
	}
	c.Running = append([]model.Allocation(nil), s.Running...)
	for i := range c.Running {
		a := &c.Running[i]
		a.Job = cloneJob(a.Job)
		a.Replicas = clonePlacements(a.Replicas)
	}
	c.Pending = make([]*model.Job, len(s.Pending))
	for i, j := range s.Pending {
		c.Pending[i] = cloneJob(j)
	}
	c.Usage = append([]model.Usage(nil), s.Usage...)
	c.Grid = append([]model.GridSeries(nil), s.Grid...)
	for i := range c.Grid {
		c.Grid[i].Hours = append([]model.GridHour(nil), c.Grid[i].Hours...)
	}
	c.RecentPreemptions = append([]model.Time(nil), s.RecentPreemptions...)
	return &c
}

func cloneQuotas(q map[string]model.Quota) map[string]model.Quota {
	if q == nil {
		return nil
	}
	out := make(map[string]model.Quota, len(q))
	for k, v := range q {
		if v.BorrowingLimit != nil {
			b := *v.BorrowingLimit
			v.BorrowingLimit = &b
		}
		if v.LendingLimit != nil {
			l := *v.LendingLimit
			v.LendingLimit = &l
		}
		out[k] = v
	}
	return out
}

func cloneJob(j *model.Job) *model.Job {
	if j == nil {
		return nil
	}
	c := *j
	c.GPUModels = append([]string(nil), j.GPUModels...)
	c.Jurisdictions = append([]string(nil), j.Jurisdictions...)
	c.Command = append([]string(nil), j.Command...)
	return &c
}

func clonePlacements(pls []model.Placement) []model.Placement {
	out := append([]model.Placement(nil), pls...)
	for i := range out {
		out[i].GPUs = append([]int(nil), out[i].GPUs...)
	}
	return out
}

// describe is a one-line summary of a snapshot for failure messages.
func describe(s *model.Snapshot) string {
	return fmt.Sprintf("%d sites, %d nodes, %d tenants, %d running, %d pending",
		len(s.Facility.Sites), len(s.Facility.Nodes), len(s.Facility.Tenants), len(s.Running), len(s.Pending))
}
