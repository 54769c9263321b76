package sched_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// r2Stress is genSnapshot(seed) with rarer shapes added.
func r2Stress(seed uint64) (*model.Snapshot, model.Time) {
	snap, now := genSnapshot(seed)
	rng := rand.New(rand.NewPCG(seed, 7777))
	f := snap.Facility
	ch := func(p float64) bool { return rng.Float64() < p }
	// a big pool (over 64 nodes) at the first site, partly busy
	if ch(0.4) {
		site := f.Sites[0].ID
		m := "H100"
		for _, n := range f.Nodes {
			if n.Site == site {
				m = n.GPUModel
				break
			}
		}
		hall := site + "-bigh"
		f.Halls = append(f.Halls, model.Hall{ID: hall, Site: site, Cooling: model.CoolingLiquid})
		nr := 2 + rng.IntN(3)
		for r := range nr {
			rack := fmt.Sprintf("%s-bigr%d", hall, r)
			f.Racks = append(f.Racks, model.Rack{ID: rack, Hall: hall, Cooling: model.CoolingLiquid})
		}
		for i := range 60 + rng.IntN(80) {
			rack := fmt.Sprintf("%s-bigr%d", hall, i%nr)
			name := fmt.Sprintf("%s-big%03d", site, i)
			f.Nodes = append(f.Nodes, makeNode(name, site).Model(m, 8).Place(hall, rack).Fabric(fmt.Sprintf("%s-nvl%d", rack, i/4), hall+"-leaf").Obj())
			if ch(0.7) {
				k := 1 + rng.IntN(8)
				j := makeJob(fmt.Sprintf("big%03d", i), f.Tenants[rng.IntN(len(f.Tenants))].Name).Gang(1, k).
					Limit(model.Duration(1+rng.IntN(12)) * 20 * model.Minute).Obj()
				j.PriorityClass = f.PriorityClasses[rng.IntN(len(f.PriorityClasses))].Name
				j.Preemptible = j.PriorityClass == "low"
				if ch(0.05) {
					j.ExclusiveNode = true
				}
				a := allocation(j, now-model.Time(rng.IntN(7200)), model.Placement{Node: name, GPUs: gpuRange(0, k)})
				snap.Running = append(snap.Running, a)
			}
		}
		for range 3 + rng.IntN(6) {
			j := makeJob(fmt.Sprintf("bg%03d", rng.IntN(1000)), f.Tenants[rng.IntN(len(f.Tenants))].Name).
				Gang(2+rng.IntN(12), []int{1, 2, 4, 8}[rng.IntN(4)]).Limit(model.Hour).Submit(now - model.Time(rng.IntN(3600))).Obj()
			if ch(0.5) {
				j.Jurisdictions = jurChoices[rng.IntN(len(jurChoices))]
			}
			if ch(0.4) {
				j = (&jobW{j}).Topo(model.TopologyLevel(rng.IntN(int(model.LevelAny)+1)), ch(0.5)).Obj()
			}
			snap.Pending = append(snap.Pending, j)
		}
	}
	// CPU-only nodes and CPU-only jobs
	if ch(0.3) {
		site := f.Sites[rng.IntN(len(f.Sites))].ID
		for i := range 1 + rng.IntN(3) {
			f.Nodes = append(f.Nodes, makeNode(fmt.Sprintf("%s-cpu%d", site, i), site).Model("", 0).Place(site+"-h0", site+"-h0-r0").Obj())
		}
		for range 1 + rng.IntN(3) {
			j := makeJob(fmt.Sprintf("cpu%03d", rng.IntN(1000)), f.Tenants[rng.IntN(len(f.Tenants))].Name).Gang(1+rng.IntN(3), 0).Resources(8, 64).Obj()
			snap.Pending = append(snap.Pending, j)
		}
	}
	// a node of a model the facility does not know, with work on it
	if ch(0.2) {
		site := f.Sites[0].ID
		name := site + "-odd"
		f.Nodes = append(f.Nodes, makeNode(name, site).Model("MI300X", 8).Place(site+"-h0", site+"-h0-r0").Obj())
		j := makeJob("oddrun", f.Tenants[0].Name).Gang(1, 4).Limit(model.Hour).Obj()
		snap.Running = append(snap.Running, allocation(j, now-600, model.Placement{Node: name, GPUs: gpuRange(0, 4)}))
	}
	// a running job of a tenant the facility does not know
	if ch(0.2) && len(f.Nodes) > 0 {
		// on a GPU nobody holds (overlaps are TestReview2QuickOverlapEnds')
		held := map[string]bool{}
		for _, a := range snap.Running {
			for _, pl := range a.Replicas {
				for _, g := range pl.GPUs {
					held[fmt.Sprint(pl.Node, "/", g)] = true
				}
			}
		}
		n := f.Nodes[rng.IntN(len(f.Nodes))]
		for g := range n.GPUs {
			if !held[fmt.Sprint(n.Name, "/", g)] {
				j := makeJob("ghost", "ghost-tenant").Gang(1, 1).Limit(model.Hour).Obj()
				snap.Running = append(snap.Running, allocation(j, now-600, model.Placement{Node: n.Name, GPUs: []int{g}}))
				break
			}
		}
	}
	// duplicate tenant names
	if ch(0.2) {
		t := f.Tenants[rng.IntN(len(f.Tenants))]
		t.FairShareWeight += 1
		f.Tenants = append(f.Tenants, t)
	}
	// claims for pending jobs (and gone ones)
	if ch(0.4) && len(snap.Pending) > 0 {
		for range 1 + rng.IntN(4) {
			n := f.Nodes[rng.IntN(len(f.Nodes))]
			if n.GPUs <= 0 {
				continue
			}
			st := model.NodeState{Node: n.Name, Condition: model.NodeUp, GPUs: make([]model.GPUState, n.GPUs)}
			id := snap.Pending[rng.IntN(len(snap.Pending))].ID
			if ch(0.2) {
				id = "gone"
			}
			for g := range st.GPUs {
				if ch(0.6) {
					st.GPUs[g] = model.GPUState{ClaimedBy: id, Dirty: ch(0.3), LastTenant: f.Tenants[rng.IntN(len(f.Tenants))].Name}
				}
			}
			// one entry per node (a node listed twice is
			// TestReview2QuickNodeListedTwice's)
			for i := range snap.Nodes {
				if snap.Nodes[i].Node == n.Name {
					snap.Nodes[i].GPUs = st.GPUs
					st.Node = ""
					break
				}
			}
			if st.Node != "" {
				snap.Nodes = append(snap.Nodes, st)
			}
		}
	}
	// a placement capped below its model's idle draw (invalid, but given)
	if ch(0.1) && len(snap.Running) > 0 {
		a := &snap.Running[rng.IntN(len(snap.Running))]
		reps := clonePlacements(a.Replicas)
		for i := range reps {
			reps[i].PowerCapW = 10
		}
		a.Replicas = reps
	}
	f.Policy.BackfillDepth = max(f.Policy.BackfillDepth, rng.IntN(16))
	return snap, now
}

// r2Evolve applies a plan to the snapshot as the twin would, and perturbs it.
func r2Evolve(rng *rand.Rand, cur *model.Snapshot, got model.Plan, queued []*model.Job, q *sched.Queue, later *[]*model.Job) []*model.Job {
	running := make([]model.Allocation, 0, len(cur.Running)+len(got.Starts))
	victims := map[string]bool{}
	for _, pr := range got.Preemptions {
		victims[pr.Victim] = true
	}
	for _, a := range cur.Running {
		switch {
		case a.Terminating || rng.IntN(4) == 0:
		case victims[a.Job.ID]:
			a.Terminating = true
			running = append(running, a)
		default:
			running = append(running, a)
		}
	}
	started := map[string]bool{}
	for _, s := range got.Starts {
		started[s.Job] = true
		q.Remove(s.Job)
		for _, j := range queued {
			if j.ID == s.Job {
				running = append(running, model.Allocation{Job: j, Started: got.Now, Replicas: s.Replicas})
			}
		}
	}
	kept := queued[:0]
	for _, j := range queued {
		if !started[j.ID] {
			kept = append(kept, j)
		}
	}
	queued = kept
	cur.Running = running
	if len(*later) > 0 && rng.IntN(2) == 0 {
		if q.Add((*later)[0]) { // not when a job of that ID is queued already
			queued = append(queued, (*later)[0])
		}
		*later = (*later)[1:]
	}
	fac := cur.Facility
	if len(fac.Nodes) > 0 && rng.IntN(3) > 0 {
		nd := &fac.Nodes[rng.IntN(len(fac.Nodes))]
		nodes := make([]model.NodeState, 0, len(cur.Nodes)+1)
		at := -1
		for _, st := range cur.Nodes {
			if st.Node == nd.Name && at < 0 {
				at = len(nodes)
			}
			st.GPUs = append([]model.GPUState(nil), st.GPUs...)
			nodes = append(nodes, st)
		}
		if at < 0 {
			at = len(nodes)
			nodes = append(nodes, model.NodeState{Node: nd.Name})
		}
		st := &nodes[at]
		if nd.GPUs > 0 {
			g := rng.IntN(nd.GPUs)
			for len(st.GPUs) <= g {
				st.GPUs = append(st.GPUs, model.GPUState{})
			}
			var gs model.GPUState
			switch rng.IntN(4) {
			case 0:
				gs = model.GPUState{Dirty: true}
				if rng.IntN(2) == 0 {
					gs.LastTenant = fac.Tenants[rng.IntN(len(fac.Tenants))].Name
				}
			case 1:
				if len(queued) > 0 {
					gs.ClaimedBy = queued[rng.IntN(len(queued))].ID
					gs.Dirty = rng.IntN(3) == 0
				}
			case 2:
				gs.ClaimedBy = "gone"
				gs.Dirty = rng.IntN(2) == 0
			}
			st.GPUs[g] = gs
		}
		if rng.IntN(6) == 0 {
			st.Condition = []model.NodeCondition{model.NodeUp, model.NodeDraining, model.NodeDown}[rng.IntN(3)]
		}
		cur.Nodes = nodes
	}
	return queued
}

// r2Begin starts a stressed sequence (r2Stress): the snapshot to evolve,
// its time, a random source salted per test, half the pending jobs
// queued and the other half to arrive later, and the driver's queue.
func r2Begin(seed, salt uint64) (model.Snapshot, model.Time, *rand.Rand, []*model.Job, []*model.Job, *sched.Queue) {
	snap, now := r2Stress(seed)
	cur := *snap
	cur.Running = append([]model.Allocation(nil), snap.Running...)
	queued := append([]*model.Job(nil), snap.Pending[:len(snap.Pending)/2]...)
	later := append([]*model.Job(nil), snap.Pending[len(snap.Pending)/2:]...)
	return cur, now, rand.New(rand.NewPCG(seed, salt)), queued, later, sched.NewQueue(snap.Facility, queued)
}

// TestReview2QuickMatchesScheduleStressed is TestQuickKeepsItsViewAcrossPasses
// over stressed snapshots (r2Stress: pools over 64 nodes, GPU-less nodes,
// a node of an unknown model, a running job of an unknown tenant,
// duplicate tenant names, claims, caps below idle),
// which exercise the kept view's caches added in 784f873..b2522cd: the
// tally by tenant ordinal, the quota-tree and fair-share path caches, the
// victim index with who each holding's job is, the claims' nodes, the
// release list and reservation maps handed from pass to pass, and the
// double buffer of node states.
func TestReview2QuickMatchesScheduleStressed(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 60
	}
	steps, swaps := 0, 0
	for seed := uint64(0); seed < uint64(seeds); seed++ {
		cur, now, rng, queued, later, q := r2Begin(seed, 4242)
		parked := map[string]bool{}
		for step := 0; step < 10; step++ {
			steps++
			got, _ := quickMatchesSchedule(t, &cur, q, queued, now, parked, fmt.Sprintf("seed %d step %d", seed, step))
			queued = r2Evolve(rng, &cur, got, queued, q, &later)
			if step%4 == 3 {
				// another facility value: tenants in another order, a
				// class list in another order (the caches keyed by the
				// facility — tenant ordinals, quota-tree indices,
				// fair-share paths, who a victim is — must follow it;
				// priority values stay, since the queue's order is the
				// facility's it was made with)
				f := cloneSnapshot(&model.Snapshot{Facility: cur.Facility}).Facility
				rng.Shuffle(len(f.Tenants), func(a, b int) { f.Tenants[a], f.Tenants[b] = f.Tenants[b], f.Tenants[a] })
				rng.Shuffle(len(f.PriorityClasses), func(a, b int) {
					f.PriorityClasses[a], f.PriorityClasses[b] = f.PriorityClasses[b], f.PriorityClasses[a]
				})
				for i := range f.Tenants {
					if tq := f.Tenants[i].Quota; tq != nil && rng.IntN(3) == 0 {
						for m, x := range tq {
							x.Nominal += 8
							tq[m] = x
						}
					}
				}
				if rng.IntN(2) == 0 {
					rng.Shuffle(len(cur.Usage), func(a, b int) { cur.Usage[a], cur.Usage[b] = cur.Usage[b], cur.Usage[a] })
				}
				cur.Facility = f
				clear(parked) // another facility: Quick unparks them
				swaps++
			}
			now = now.Add(model.Duration(rng.IntN(3600)))
		}
	}
	t.Logf("%d passes compared, %d facility changes", steps, swaps)
}
