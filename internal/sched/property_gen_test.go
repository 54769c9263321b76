package sched_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
)

// Random facilities and workloads for the property tests. Everything is
// drawn from one seeded *rand.Rand, so gen(seed) twice gives two equal,
// independent snapshots.

type siteSpec struct {
	id, country string
	jur         []string
	models      []string
}

var siteSpecs = []siteSpec{
	{"par", "FR", []string{"EU", "FR"}, []string{"H100", "H200"}},
	{"fra", "DE", []string{"EU", "DE"}, []string{"H100", "A100"}},
	{"iad", "US", []string{"US"}, []string{"H200", "GB300"}},
}

var jurChoices = [][]string{nil, nil, {"EU"}, {"FR"}, {"DE"}, {"US"}, {"EU", "US"}}

type gen struct {
	r   *rand.Rand
	now model.Time
	s   *model.Snapshot
	n   int // job counter
}

// genSnapshot returns a random, valid snapshot and the time to schedule at.
func genSnapshot(seed uint64) (*model.Snapshot, model.Time) {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), now: t0 + model.Time(seed%97)*model.Time(model.Hour)}
	g.s = &model.Snapshot{Facility: newFacility(), Seed: int64(seed)}
	g.facility()
	g.states()
	g.workload()
	return g.s, g.now
}

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func (g *gen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

func (g *gen) facility() {
	f := g.s.Facility
	f.PriorityClasses = []model.PriorityClass{{Name: "high", Value: 100}, {Name: "normal", Value: 50}, {Name: "low", Value: 10, Preemptible: true}}
	p := &f.Policy
	for _, b := range []*bool{&p.FairShare, &p.Quotas, &p.Preemption, &p.Reclaim, &p.Backfill, &p.Topology, &p.Power, &p.PowerCapping, &p.Deferral} {
		*b = g.chance(0.7)
	}
	p.PreemptionRateLimit = g.r.IntN(4)
	p.BackfillDepth = 1 + g.r.IntN(8)
	p.CarbonWeight = float64(g.r.IntN(5)) / 4
	order := g.r.Perm(len(siteSpecs))[:1+g.r.IntN(len(siteSpecs))]
	for _, i := range order {
		g.site(siteSpecs[i])
	}
	g.tenants()
	p.PowerRecap = p.Power && p.PowerCapping && g.chance(0.5)
	p.BorrowPreemptibleOnly = p.Quotas && g.chance(0.3)
	p.ReclaimAnySize = p.Reclaim && g.chance(0.3)
	if p.ReclaimAnySize && g.s.Seed%2 == 0 {
		// A ratio that binds often, so that reclaim free of it is met
		// (with 8, the workload's sizes rarely differ enough). Drawn
		// from the seed, not the stream: other snapshots stay as they are.
		p.VictimRatio = 1
	}
	if g.chance(0.5) {
		f.DataClasses = map[string][]string{"health": {"FR"}, "personal": {"EU"}}
	}
}

func (g *gen) site(sp siteSpec) {
	f := g.s.Facility
	models := sp.models[:1+g.r.IntN(len(sp.models))]
	f.Sites = append(f.Sites, model.Site{ID: sp.id, Name: sp.id, Country: sp.country, Jurisdictions: sp.jur, PUE: 1.2, GridZone: sp.country})
	idle := 0.0
	for h := range 1 + g.r.IntN(2) {
		hall := fmt.Sprintf("%s-h%d", sp.id, h)
		f.Halls = append(f.Halls, model.Hall{ID: hall, Site: sp.id, Cooling: model.CoolingLiquid})
		for rk := range 1 + g.r.IntN(2) {
			rack := fmt.Sprintf("%s-r%d", hall, rk)
			f.Racks = append(f.Racks, model.Rack{ID: rack, Hall: hall, Cooling: model.CoolingLiquid})
			domains := 1 + g.r.IntN(2)
			for n := range 1 + g.r.IntN(3) {
				name := fmt.Sprintf("%s-n%d", rack, n)
				gpus := 8
				if g.chance(0.3) {
					gpus = 4
				}
				m := g.pick(models)
				nw := makeNode(name, sp.id).Model(m, gpus).Place(hall, rack).
					Fabric(fmt.Sprintf("%s-nvl%d", rack, n%domains), hall+"-leaf")
				f.Nodes = append(f.Nodes, nw.Obj())
				idle += nw.BaseWatts + float64(gpus*gpuCatalog[m].IdleWatts)
			}
		}
	}
	// Envelopes: usually roomy, sometimes barely above idle.
	env := idle * (1.5 + 3*g.r.Float64()) / 1000
	if g.chance(0.3) {
		env = idle * (1.05 + 0.3*g.r.Float64()) / 1000
	}
	f.Sites[len(f.Sites)-1].PowerEnvelopeKW = env
	if g.chance(0.2) {
		f.Halls[len(f.Halls)-1].PowerCapKW = env / 2
	}
	if g.chance(0.2) {
		f.Racks[len(f.Racks)-1].PowerCapKW = env / 3
	}
	hours := make([]model.GridHour, 24)
	for i := range hours {
		hours[i] = model.GridHour{Start: g.now.Add(model.Duration(i-1) * model.Hour), PriceEURMWh: float64(10 + g.r.IntN(200)), CarbonGkWh: float64(20 + g.r.IntN(500))}
	}
	g.s.Grid = append(g.s.Grid, model.GridSeries{Zone: sp.country, Hours: hours})
}

func (g *gen) tenants() {
	f := g.s.Facility
	f.Cohorts = []model.Cohort{{Name: "c1"}}
	for i := range 2 + g.r.IntN(3) {
		t := model.Tenant{Name: fmt.Sprintf("t%d", i), FairShareWeight: float64(1 + g.r.IntN(3)), Jurisdictions: jurChoices[g.r.IntN(len(jurChoices))]}
		if g.chance(0.6) {
			t.Cohort = "c1"
		}
		if g.chance(0.15) {
			t.Exclusive = model.ExclusiveNode
		}
		if g.chance(0.2) {
			t.PriorityClasses = []string{"normal", "low"}
		}
		t.Quota = map[string]model.Quota{}
		for _, m := range []string{"H100", "H200", "A100", "GB300"} {
			b, l := -1, -1
			if g.chance(0.5) {
				b = g.r.IntN(16)
			}
			if g.chance(0.3) {
				l = g.r.IntN(16)
			}
			t.Quota[m] = quota(8*g.r.IntN(5), b, l)
		}
		f.Tenants = append(f.Tenants, t)
		if g.chance(0.7) {
			g.s.Usage = append(g.s.Usage, model.Usage{Tenant: t.Name, GPUSeconds: float64(g.r.IntN(1000)) * 3600, AsOf: g.now - model.Time(g.r.IntN(86400))})
		}
	}
}

// states sets some nodes draining or down and leaves some GPUs dirty.
func (g *gen) states() {
	f := g.s.Facility
	for _, n := range f.Nodes {
		st := model.NodeState{Node: n.Name, Condition: model.NodeUp}
		switch x := g.r.Float64(); {
		case x < 0.08:
			st.Condition = model.NodeDraining
		case x < 0.13:
			st.Condition = model.NodeDown
		case x < 0.16:
			st.Condition = model.NodeUnreachable
		}
		if g.chance(0.15) {
			st.GPUs = make([]model.GPUState, n.GPUs)
			tenant := f.Tenants[g.r.IntN(len(f.Tenants))].Name
			for i := range st.GPUs {
				// the last GPU of such a node is down (no draw: the
				// stream of the other choices stays as it was)
				st.GPUs[i] = model.GPUState{LastTenant: tenant, Dirty: g.chance(0.5), Down: i == len(st.GPUs)-1}
			}
		}
		if st.Condition != model.NodeUp || st.GPUs != nil || g.chance(0.3) {
			g.s.Nodes = append(g.s.Nodes, st)
		}
	}
}

// job draws a random job.
func (g *gen) job() *model.Job {
	g.n++
	f := g.s.Facility
	t := f.Tenants[g.r.IntN(len(f.Tenants))]
	gpus := []int{0, 1, 1, 2, 4, 4, 8, 8}[g.r.IntN(8)]
	jw := makeJob(fmt.Sprintf("j%03d", g.n), t.Name).Gang(1+g.r.IntN(3), gpus).
		Submit(g.now-model.Time(g.r.IntN(7200))).Grace(model.Duration(g.r.IntN(4))*5*model.Minute).
		Resources(1+g.r.IntN(32), 8*(1+g.r.IntN(32)))
	if gpus == 0 {
		jw.Gang(1+g.r.IntN(3), 0)
	}
	c := f.PriorityClasses[g.r.IntN(len(f.PriorityClasses))]
	jw.Class(c.Name, c.Preemptible)
	if g.chance(0.2) {
		jw.Deployment(2+g.r.IntN(3), 1+g.r.IntN(2), max(gpus, 1))
	}
	if g.chance(0.3) {
		all := []string{"H100", "H200", "A100", "GB300"}
		g.r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		jw.Models(all[:1+g.r.IntN(2)]...)
	}
	if g.chance(0.2) {
		jw.Jur(jurChoices[g.r.IntN(len(jurChoices))]...)
	}
	if g.chance(0.6) {
		jw.Limit(model.Duration(1+g.r.IntN(16)) * 30 * model.Minute)
	}
	if g.chance(0.4) {
		jw.Topo(model.TopologyLevel(g.r.IntN(int(model.LevelAny)+1)), g.chance(0.5))
	}
	if g.chance(0.05) {
		jw.Exclusive()
	}
	j := jw.Obj()
	if g.chance(0.2) {
		j.DataClass = []string{"health", "personal", "public"}[g.r.IntN(3)]
	}
	return j
}

// workload adds valid running allocations, then pending jobs, some
// flexible or not yet startable.
func (g *gen) workload() {
	for range 4 + g.r.IntN(20) {
		g.tryRunning(g.job())
	}
	for range 2 + g.r.IntN(14) {
		j := g.job()
		switch x := g.r.Float64(); {
		case x < 0.1:
			j.EarliestStart = g.now.Add(model.Duration(g.r.IntN(6)) * model.Hour)
		case x < 0.25:
			j.RuntimeLimit = max(j.RuntimeLimit, model.Hour)
			j.Deadline = g.now.Add(j.RuntimeLimit + model.Duration(g.r.IntN(12))*model.Hour)
		}
		g.s.Pending = append(g.s.Pending, j)
	}
	for range g.r.IntN(3) {
		g.s.RecentPreemptions = append(g.s.RecentPreemptions, g.now-model.Time(g.r.IntN(7200)))
	}
}

// tryRunning places j greedily on random up nodes and keeps it when
// plan.Verify accepts the placement as a start; so running work is
// itself valid.
func (g *gen) tryRunning(j *model.Job) {
	f := g.s.Facility
	replicas := j.Replicas
	if j.Kind == model.KindDeployment { // at its minimum, or scaled up above it (partial preemption)
		replicas = max(j.MinReplicas, 1)
		replicas += g.r.IntN(max(1, j.Replicas-replicas+1))
	}
	used := map[string]map[int]bool{}
	for _, a := range g.s.Running {
		for _, pl := range a.Replicas {
			for _, x := range pl.GPUs {
				if used[pl.Node] == nil {
					used[pl.Node] = map[int]bool{}
				}
				used[pl.Node][x] = true
			}
		}
	}
	var pls []model.Placement
	for range replicas {
		n := f.Nodes[g.r.IntN(len(f.Nodes))]
		var free []int
		for x := range n.GPUs {
			if !used[n.Name][x] {
				free = append(free, x)
			}
		}
		if len(free) < j.GPUsPerReplica {
			return
		}
		pl := model.Placement{Node: n.Name, GPUs: free[:j.GPUsPerReplica]}
		if g.chance(0.2) && j.GPUsPerReplica > 0 {
			m := gpuCatalog[n.GPUModel]
			pl.PowerCapW = m.MinCapWatts + g.r.IntN(m.MaxCapWatts-m.MinCapWatts+1)
			if f.Policy.PowerRecap && g.chance(0.4) { // raised since it started: power lent over its own cap
				pl.StartCapW = pl.PowerCapW
				if pl.PowerCapW = pl.StartCapW + g.r.IntN(m.MaxCapWatts-pl.StartCapW+1); pl.PowerCapW == pl.StartCapW {
					pl.PowerCapW = 0 // lifted
				}
			}
		}
		if used[n.Name] == nil {
			used[n.Name] = map[int]bool{}
		}
		for _, x := range pl.GPUs {
			used[n.Name][x] = true
		}
		pls = append(pls, pl)
	}
	trial := *g.s
	trial.Pending = []*model.Job{j}
	if plan.Verify(&trial, &model.Plan{Now: g.now, Starts: []model.Start{{Job: j.ID, Replicas: pls}}}) != nil {
		return
	}
	started := g.now - model.Time(g.r.IntN(5*3600))
	a := allocation(j, started, pls...)
	if g.chance(0.5) {
		a.LastCheckpoint = started + model.Time(g.r.IntN(int(g.now-started)+1))
	}
	if j.Preemptible && g.chance(0.3) {
		a.Terminating, a.EvictAt = true, g.now.Add(j.CheckpointGrace)
	}
	if keep := model.KeepsReplicas(j); j.Kind == model.KindDeployment && !a.Terminating && len(pls) > keep && g.chance(0.3) {
		// replicas above its minimum leaving for an earlier partial preemption
		k := keep + g.r.IntN(len(pls)-keep)
		part := allocation(model.LeavingJob(j), started, pls[k:]...)
		part.Terminating, part.EvictAt = true, g.now.Add(j.CheckpointGrace)
		a.Replicas = pls[:k]
		g.s.Running = append(g.s.Running, part)
	}
	g.s.Running = append(g.s.Running, a)
}
