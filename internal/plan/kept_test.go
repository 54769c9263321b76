package plan_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
)

// keptFacility has two sites of four nodes (4 GPUs each), two halls per
// site and a rack per hall, all with tight power limits, and three
// tenants in a cohort with borrowing and lending limits and a
// node-exclusive one: power, quota and per-node violations come up
// often.
func keptFacility() *model.Facility {
	fac := &model.Facility{
		Name:      "kept",
		GPUModels: map[string]model.GPUModel{"H100": h100(), "A100": a100()},
		Sites: []model.Site{
			{ID: "par", Jurisdictions: []string{"EU"}, PowerEnvelopeKW: 9},
			{ID: "fra", Jurisdictions: []string{"EU"}, PowerEnvelopeKW: 7},
		},
		Cohorts: []model.Cohort{{Name: "c"}},
		Tenants: []model.Tenant{
			{Name: "acme", Cohort: "c", Quota: map[string]model.Quota{"H100": {Nominal: 6, BorrowingLimit: ptr(2)}, "A100": {Nominal: 4}}},
			{Name: "beta", Cohort: "c", Quota: map[string]model.Quota{"H100": {Nominal: 4, LendingLimit: ptr(1)}, "A100": {Nominal: 6}}},
			{Name: "solo", Quota: quotas(3, 3), Exclusive: model.ExclusiveNode},
		},
		PriorityClasses: []model.PriorityClass{{Name: "low", Value: 10}, {Name: "high", Value: 100}},
		Policy:          model.DefaultPolicy(),
	}
	fac.Policy.Power, fac.Policy.Quotas, fac.Policy.Preemption, fac.Policy.Reclaim = true, true, true, true
	fac.Policy.PowerRecap = true
	for s, site := range []string{"par", "fra"} {
		gm := []string{"H100", "A100"}[s]
		for h := 1; h <= 2; h++ {
			hall := fmt.Sprintf("%s-h%d", site, h)
			fac.Halls = append(fac.Halls, model.Hall{ID: hall, Site: site, PowerCapKW: 4.5})
			fac.Racks = append(fac.Racks, model.Rack{ID: hall + "-r1", Hall: hall, PowerCapKW: 4})
			for n := 1; n <= 2; n++ {
				nd := node(fmt.Sprintf("%s%d", hall, n), site, gm)
				nd.Hall, nd.Rack, nd.GPUs = hall, hall+"-r1", 4
				fac.Nodes = append(fac.Nodes, nd)
			}
		}
	}
	return fac
}

// keptGen makes a sequence of snapshots of keptFacility that change by
// difference, as a driver's do, with the odd snapshot a driver would not
// make: GPUs held twice, caps out of range, unknown nodes, allocations
// copied afresh or reordered.
type keptGen struct {
	rng   *rand.Rand
	fac   *model.Facility
	nodes []string // the facility's, and one unknown
	down  map[string]bool
	jobs  int
}

func (g *keptGen) job(tenant string) *model.Job {
	g.jobs++
	j := job(fmt.Sprintf("j%d", g.jobs), tenant, 1, 1+g.rng.IntN(3))
	j.PriorityClass = []string{"low", "high"}[g.rng.IntN(2)]
	j.Preemptible = g.rng.IntN(4) > 0
	j.CheckpointGrace = model.Minute
	j.CPUsPerReplica, j.MemGiBPerReplica = 8*(1+g.rng.IntN(4)), 64*(1+g.rng.IntN(4))
	j.ExclusiveNode = g.rng.IntN(10) == 0
	if g.rng.IntN(4) == 0 {
		j.Kind, j.Replicas = model.KindDeployment, 3
	}
	return j
}

func (g *keptGen) tenant() string {
	return []string{"acme", "beta", "solo", "acme", "beta", "nobody"}[g.rng.IntN(6)]
}

// placements returns 1 or 2 placements of gpus GPUs each, mostly on GPUs
// no running placement holds (held: node → GPU).
func (g *keptGen) placements(gpus int, held map[string]map[int]bool) []model.Placement {
	var out []model.Placement
	for r := 1 + g.rng.IntN(2); r > 0; r-- {
		name := g.nodes[g.rng.IntN(len(g.nodes))]
		pl := model.Placement{Node: name}
		switch {
		case g.rng.IntN(12) == 0: // anything: held twice, out of range, listed twice
			for k := 0; k < gpus; k++ {
				pl.GPUs = append(pl.GPUs, g.rng.IntN(6)-1)
			}
		default:
			for _, i := range g.rng.Perm(4) {
				if len(pl.GPUs) < gpus && !held[name][i] {
					pl.GPUs = append(pl.GPUs, i)
				}
			}
		}
		switch g.rng.IntN(10) {
		case 0, 2, 3: // capped, or out of range: for starts and for recaps to raise
			pl.PowerCapW = 100 + g.rng.IntN(600)
		case 1:
			if g.rng.IntN(5) == 0 {
				pl.PowerCapW = 1 << 30 // beyond what the kept loads add exactly
			}
		}
		if held[name] == nil {
			held[name] = map[int]bool{}
		}
		for _, i := range pl.GPUs {
			held[name][i] = true
		}
		out = append(out, pl)
	}
	return out
}

// lend makes some of running placements pls run on power lent by an
// earlier recap: started below their cap (or uncapped, TDP), at times
// at a start cap no recap would leave (above the cap, out of range).
func (g *keptGen) lend(pls []model.Placement) {
	for i := range pls {
		pl := &pls[i]
		switch {
		case g.rng.IntN(3) > 0:
		case g.rng.IntN(15) == 0:
			pl.StartCapW = []int{50, 800, 1 << 30}[g.rng.IntN(3)]
		case pl.PowerCapW == 0:
			pl.StartCapW = 100 + g.rng.IntN(300)
		case pl.PowerCapW > 101:
			pl.StartCapW = 100 + g.rng.IntN(pl.PowerCapW-100)
		}
	}
}

// step returns the next snapshot's running allocations and node states.
func (g *keptGen) step(running []model.Allocation) ([]model.Allocation, []model.NodeState) {
	held := map[string]map[int]bool{}
	next := running[:0:0]
	for _, a := range running {
		switch g.rng.IntN(20) {
		case 0, 1: // ends
		case 2: // changes: a new slice
			a.Replicas = append([]model.Placement(nil), a.Replicas...)
			if len(a.Replicas) > 1 && g.rng.IntN(2) == 0 {
				a.Replicas = a.Replicas[:1]
			}
			next = append(next, a)
		case 3: // the same slice, another job (not a driver's doing)
			if a.Job != nil {
				j := *a.Job
				j.Tenant = g.tenant()
				a.Job = &j
			}
			next = append(next, a)
		case 4: // preempted: same placements
			a.Terminating, a.EvictAt = true, t0+model.Time(model.Minute)
			next = append(next, a)
		default:
			next = append(next, a)
		}
	}
	for _, a := range next {
		for _, pl := range a.Replicas {
			if held[pl.Node] == nil {
				held[pl.Node] = map[int]bool{}
			}
			for _, i := range pl.GPUs {
				held[pl.Node][i] = true
			}
		}
	}
	for k := g.rng.IntN(4); k > 0; k-- {
		j := g.job(g.tenant())
		if g.rng.IntN(10) == 0 && len(next) > 0 && next[0].Job != nil { // a deployment's second allocation
			j = next[0].Job
		}
		a := model.Allocation{Job: j, Started: t0 - 60, Replicas: g.placements(j.GPUsPerReplica, held)}
		g.lend(a.Replicas)
		if g.rng.IntN(30) == 0 {
			a.Job = nil
		}
		next = append(next, a)
	}
	switch g.rng.IntN(25) {
	case 0: // held twice: the same allocation listed again
		if len(next) > 0 {
			next = append(next, next[g.rng.IntN(len(next))])
		}
	case 1, 2: // reordered
		if len(next) > 1 {
			i, j := g.rng.IntN(len(next)), g.rng.IntN(len(next))
			next[i], next[j] = next[j], next[i]
		}
	case 3:
		g.rng.Shuffle(len(next), func(i, j int) { next[i], next[j] = next[j], next[i] })
	case 4: // no removals of an allocation without placements
		next = append(next, model.Allocation{Job: g.job("acme")})
	}
	if g.rng.IntN(3) == 0 { // a node goes down or comes up
		n := g.nodes[g.rng.IntN(len(g.nodes))]
		g.down[n] = !g.down[n]
	}
	var states []model.NodeState
	for _, n := range g.nodes {
		if g.down[n] {
			cond := model.NodeDown
			if len(n)%2 == 0 { // some nodes go silent instead: nameplate
				cond = model.NodeUnreachable
			}
			states = append(states, model.NodeState{Node: n, Condition: cond})
			if g.rng.IntN(8) == 0 { // a later entry counts
				states = append(states, model.NodeState{Node: n, Condition: model.NodeUp})
			}
		}
	}
	return next, states
}

// plan makes a plan over snap: starts of some pending jobs (mostly on
// free GPUs), preemptions of some running ones, the rest pending.
func (g *keptGen) plan(snap *model.Snapshot) *model.Plan {
	held := map[string]map[int]bool{}
	for _, a := range snap.Running {
		for _, pl := range a.Replicas {
			if held[pl.Node] == nil {
				held[pl.Node] = map[int]bool{}
			}
			for _, i := range pl.GPUs {
				held[pl.Node][i] = true
			}
		}
	}
	p := &model.Plan{Now: t0}
	for _, j := range snap.Pending {
		if g.rng.IntN(3) > 0 {
			p.Starts = append(p.Starts, model.Start{Job: j.ID, Replicas: g.placements(j.GPUsPerReplica, held)})
		} else {
			p.Pending = append(p.Pending, model.Pending{Job: j.ID, Code: model.ReasonPreempting})
		}
	}
	if n := len(snap.Running); n > 0 && g.rng.IntN(3) == 0 {
		if a := snap.Running[g.rng.IntN(n)]; a.Job != nil {
			pr := model.Preemption{Victim: a.Job.ID, NoticeAt: t0, EvictAt: t0.Add(a.Job.CheckpointGrace)}
			if len(snap.Pending) > 0 {
				pr.Beneficiary = snap.Pending[g.rng.IntN(len(snap.Pending))].ID
			}
			p.Preemptions = append(p.Preemptions, pr)
		}
	}
	g.recaps(snap, p)
	return p
}

// wildRecaps reports whether p recaps a job beyond what the kept loads
// add exactly.
func wildRecaps(p *model.Plan) bool {
	for _, r := range p.Recaps {
		if r.PowerCapW >= 1<<24 {
			return true
		}
	}
	return false
}

// recaps adds recaps of some running jobs to p: mostly raising capped
// replicas, lowering those on lent power (to the cap they started with,
// or below), at times out of range, beyond what the kept loads add
// exactly, of a job the plan preempts, or twice.
func (g *keptGen) recaps(snap *model.Snapshot, p *model.Plan) {
	for _, a := range snap.Running {
		if a.Job == nil || g.rng.IntN(3) > 0 {
			continue
		}
		r := model.Recap{Job: a.Job.ID}
		if own := maxStartCap(&a); own > 0 && own < 1<<20 && g.rng.IntN(2) == 0 { // give lent power back
			r.PowerCapW = own + []int{0, 0, 0, 50, -50}[g.rng.IntN(5)]
			p.Recaps = append(p.Recaps, r)
			continue
		}
		switch g.rng.IntN(12) {
		case 0, 1, 2, 3:
			r.PowerCapW = 0
		case 4:
			r.PowerCapW = 150 + g.rng.IntN(600)
		case 5: // beyond what the kept loads add exactly
			r.PowerCapW = []int{1 << 30, 1<<53 + 1, math.MaxInt}[g.rng.IntN(3)]
		default:
			r.PowerCapW = 300 + g.rng.IntN(400)
		}
		p.Recaps = append(p.Recaps, r)
		if g.rng.IntN(20) == 0 {
			p.Recaps = append(p.Recaps, model.Recap{Job: a.Job.ID, PowerCapW: g.rng.IntN(700)})
		}
	}
}

// TestCheckerKeepsByDifference drives Checkers through long sequences of
// snapshots that change by difference (allocations that end, start,
// change or move; nodes going down and up; GPUs held twice; invalid
// plans; snapshots copied afresh or of another facility) and compares
// every verdict with a fresh Verify's, and what the Checker keeps with
// what a fresh Checker keeps of the same snapshot.
func TestCheckerKeepsByDifference(t *testing.T) {
	seen := map[string]int{}
	// kinds of violation the sequences must bring up, each often
	kinds := []string{"would draw", "may use only", "preempted for", "held by job",
		"CPUs requested", "memory requested", "exclusive-node", "node-exclusive",
		"recaps raise caps", "recap to power cap", "it started with", "which no recap raised", "changes no replica", "recapped twice"}
	for seed := uint64(0); seed < 100; seed++ {
		rng := rand.New(rand.NewPCG(seed, 23))
		g := &keptGen{rng: rng, fac: keptFacility(), down: map[string]bool{}}
		switch seed % 4 {
		case 1: // a hall and a rack that span two sites, a node in no site
			g.fac.Nodes[4].Hall, g.fac.Nodes[4].Rack = "par-h1", "par-h1-r1"
			g.fac.Nodes[1].Site = ""
		case 2: // fractional base watts
			g.fac.Nodes[2].BaseWatts = 1000.1
		}
		for _, n := range g.fac.Nodes {
			g.nodes = append(g.nodes, n.Name)
		}
		g.nodes = append(g.nodes, "ghost")
		chk := plan.NewChecker(g.fac)
		var running []model.Allocation
		for step := 0; step < 120; step++ {
			var states []model.NodeState
			running, states = g.step(running)
			snap := &model.Snapshot{Facility: g.fac, Nodes: states, Running: slices.Clone(running)}
			for k := rng.IntN(4); k > 0; k-- {
				snap.Pending = append(snap.Pending, g.job(g.tenant()))
			}
			switch rng.IntN(30) {
			case 0: // copied afresh, as a server builds its snapshots
				for i := range snap.Running {
					snap.Running[i].Replicas = slices.Clone(snap.Running[i].Replicas)
				}
			case 1: // another facility
				fac := *g.fac
				snap.Facility = &fac
			}
			p := g.plan(snap)
			want, got := fmt.Sprint(plan.Verify(snap, p)), fmt.Sprint(chk.Verify(snap, p))
			if got != want {
				t.Fatalf("seed %d step %d: the Checker says\n%s\nVerify says\n%s", seed, step, got, want)
			}
			byLowering := fitsByLowering(snap, p) // a start fits only on power a recap gives back
			if byLowering {
				seen["fits by lowering"]++
			}
			for _, s := range kinds {
				if strings.Contains(want, s) {
					seen[s]++
				}
			}
			if step%3 == 0 { // leave the Checker stale at times: it catches up by a larger difference
				drift, used := plan.KeptDrift(chk, snap)
				if drift != "" {
					t.Fatalf("seed %d step %d: the Checker keeps %s", seed, step, drift)
				}
				if used {
					seen["kept loads"]++
					if strings.Contains(want, "recaps raise caps") && !wildRecaps(p) {
						seen["kept loads, recaps"]++
					}
					if byLowering && !wildRecaps(p) {
						seen["kept loads, fits by lowering"]++
					}
				} else {
					seen["full loads"]++
				}
			}
		}
	}
	t.Logf("steps with: %v", seen)
	for _, s := range append(kinds, "fits by lowering", "kept loads", "full loads", "kept loads, recaps", "kept loads, fits by lowering") {
		if seen[s] < 20 {
			t.Errorf("%q came up %d times; the sequences do not exercise it", s, seen[s])
		}
	}
}

// TestKeepLoads: a Checker keeps the loads by difference only where that
// adds up to what the full computation finds, exactly.
func TestKeepLoads(t *testing.T) {
	for _, tt := range []struct {
		name   string
		mutate func(*model.Facility)
		want   bool
	}{
		{"whole watts, nested containers", func(*model.Facility) {}, true},
		{"fractional base watts", func(f *model.Facility) { f.Nodes[0].BaseWatts = 999.5 }, false},
		{"huge base watts", func(f *model.Facility) { f.Nodes[0].BaseWatts = 1 << 52 }, false},
		{"huge TDP", func(f *model.Facility) { f.GPUModels["H100"] = model.GPUModel{TDPWatts: 1 << 30} }, false},
		{"a hall across sites", func(f *model.Facility) { f.Nodes[4].Hall = "par-h1" }, false},
		{"a rack across sites", func(f *model.Facility) { f.Nodes[4].Rack = "par-h1-r1" }, false},
		{"a rack with a node in no site", func(f *model.Facility) { f.Nodes[1].Site = "" }, false},
		{"a rack's nodes all in no site", func(f *model.Facility) { f.Nodes[0].Site, f.Nodes[1].Site = "", "" }, true},
	} {
		fac := keptFacility()
		tt.mutate(fac)
		if got := plan.KeepsLoads(fac); got != tt.want {
			t.Errorf("%s: keeps loads %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestCheckerSharedKeeps: goroutines sharing a Checker, each checking the
// same sequence of snapshots, all get Verify's verdicts (one at a time
// uses the kept state, the others work out in full).
func TestCheckerSharedKeeps(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	g := &keptGen{rng: rng, fac: keptFacility(), down: map[string]bool{}}
	for _, n := range g.fac.Nodes {
		g.nodes = append(g.nodes, n.Name)
	}
	type check struct {
		snap *model.Snapshot
		p    *model.Plan
		want string
	}
	var checks []check
	var running []model.Allocation
	for range 200 {
		var states []model.NodeState
		running, states = g.step(running)
		snap := &model.Snapshot{Facility: g.fac, Nodes: states, Running: slices.Clone(running),
			Pending: []*model.Job{g.job(g.tenant()), g.job(g.tenant())}}
		p := g.plan(snap)
		checks = append(checks, check{snap, p, fmt.Sprint(plan.Verify(snap, p))})
	}
	chk := plan.NewChecker(g.fac)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i, c := range checks {
				if w%2 == 1 { // half of them go backwards
					c = checks[len(checks)-1-i]
				}
				if got := fmt.Sprint(chk.Verify(c.snap, c.p)); got != c.want {
					t.Errorf("goroutine %d, check %d: the Checker says\n%s\nVerify says\n%s", w, i, got, c.want)
					return
				}
			}
		})
	}
	wg.Wait()
}
