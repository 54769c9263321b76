package place

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// The oracle recomputes, from the snapshot alone and by brute force, what
// a request may use on each node, and checks Find's answers against it:
// feasibility, validity of every slot, best fit for single replicas and
// the tightest, best-fitting group for gangs.

type oracleNode struct {
	spec    *model.Node
	up      bool
	busy    map[int]bool
	dirty   map[int]string
	cpu     int
	mem     int
	tenants map[string]bool
	exclJob bool
	exclTen bool
}

func oracleState(snap *model.Snapshot) []*oracleNode {
	state := map[string]model.NodeState{}
	for _, s := range snap.Nodes {
		state[s.Node] = s
	}
	var out []*oracleNode
	byName := map[string]*oracleNode{}
	for i := range snap.Facility.Nodes {
		n := &snap.Facility.Nodes[i]
		o := &oracleNode{spec: n, up: true, busy: map[int]bool{}, dirty: map[int]string{}, cpu: n.CPUs, mem: n.MemoryGiB, tenants: map[string]bool{}}
		if s, ok := state[n.Name]; ok {
			o.up = s.Condition == model.NodeUp || s.Condition == ""
			for g, gs := range s.GPUs {
				switch {
				case gs.Down:
					o.dirty[g] = GPUDown // nobody's
				case gs.Dirty:
					o.dirty[g] = gs.LastTenant
				}
			}
		}
		out = append(out, o)
		byName[n.Name] = o
	}
	for _, a := range snap.Running {
		for _, r := range a.Replicas {
			o := byName[r.Node]
			for _, g := range r.GPUs {
				o.busy[g] = true
				delete(o.dirty, g)
			}
			o.cpu -= a.Job.CPUsPerReplica
			o.mem -= a.Job.MemGiBPerReplica
			o.tenants[a.Job.Tenant] = true
			o.exclJob = o.exclJob || a.Job.ExclusiveNode
			o.exclTen = o.exclTen || tenantExclusive(snap.Facility, a.Job.Tenant)
		}
	}
	return out
}

func (o *oracleNode) free() int { return o.spec.GPUs - len(o.busy) }

func (o *oracleNode) usable(tenant string) int {
	u := 0
	for g := 0; g < o.spec.GPUs; g++ {
		if !o.busy[g] && (o.dirty[g] == "" || o.dirty[g] == tenant) {
			u++
		}
	}
	return u
}

func (o *oracleNode) capacity(r *Request, siteIdx map[string]int, models []string) int {
	if !o.up || o.spec.GPUModel != models[r.Model] || (r.Sites != nil && !r.Sites[siteIdx[o.spec.Site]]) {
		return 0
	}
	if len(o.tenants) > 0 {
		if r.ExclusiveNode || o.exclJob {
			return 0
		}
		others := len(o.tenants) > 1 || !o.tenants[r.Tenant]
		if others && (o.exclTen || r.TenantExcl) {
			return 0
		}
	}
	k := r.Replicas
	if r.GPUs > 0 {
		k = min(k, o.usable(r.Tenant)/r.GPUs)
	}
	if r.CPUs > 0 {
		k = min(k, o.cpu/r.CPUs)
	}
	if r.Mem > 0 {
		k = min(k, o.mem/r.Mem)
	}
	return max(0, k)
}

func groupKey(n *model.Node, level int) string {
	switch level {
	case 0:
		if n.NVLinkDomain == "" {
			return "node:" + n.Name
		}
		return n.NVLinkDomain
	case 1:
		return n.Leaf
	case 2:
		return n.Rack
	case 3:
		return n.Hall
	}
	return n.Site
}

func randomSnapshot(rng *rand.Rand) *model.Snapshot {
	f := &model.Facility{GPUModels: map[string]model.GPUModel{
		"H100": {TDPWatts: 700, IdleWatts: 70}, "A100": {TDPWatts: 400, IdleWatts: 50}},
		Policy: model.DefaultPolicy()}
	f.Policy.Power = false
	f.Tenants = []model.Tenant{{Name: "t0"}, {Name: "t1"}, {Name: "t2", Exclusive: model.ExclusiveNode}}
	nsites := 1 + rng.IntN(3)
	for s := 0; s < nsites; s++ {
		f.Sites = append(f.Sites, model.Site{ID: fmt.Sprintf("s%d", s)})
	}
	nnodes := 2 + rng.IntN(40)
	for i := 0; i < nnodes; i++ {
		s := rng.IntN(nsites)
		h := rng.IntN(2)
		r := rng.IntN(3)
		gpus := []int{4, 8}[rng.IntN(2)]
		m := []string{"H100", "A100"}[rng.IntN(2)]
		f.Nodes = append(f.Nodes, model.Node{Name: fmt.Sprintf("n%02d", i), Site: fmt.Sprintf("s%d", s),
			Hall: fmt.Sprintf("s%d/h%d", s, h), Rack: fmt.Sprintf("s%d/h%d/r%d", s, h, r),
			Leaf: fmt.Sprintf("s%d/h%d/r%d/l%d", s, h, r, rng.IntN(2)), NVLinkDomain: fmt.Sprintf("s%d/h%d/r%d/nvl%d", s, h, r, rng.IntN(3)),
			GPUModel: m, GPUs: gpus, CPUs: 64, MemoryGiB: 512})
	}
	snap := &model.Snapshot{Facility: f}
	for i := range f.Nodes {
		n := &f.Nodes[i]
		st := model.NodeState{Node: n.Name, Condition: model.NodeUp, GPUs: make([]model.GPUState, n.GPUs)}
		if rng.IntN(10) == 0 {
			st.Condition = []model.NodeCondition{model.NodeDraining, model.NodeDown, model.NodeUnreachable}[rng.IntN(3)]
		}
		perm := rng.Perm(n.GPUs)
		used := rng.IntN(n.GPUs + 1)
		if used > 0 && rng.IntN(2) == 0 {
			tenant := fmt.Sprintf("t%d", rng.IntN(3))
			j := &model.Job{ID: "run-" + n.Name, Tenant: tenant, Replicas: 1, GPUsPerReplica: used,
				CPUsPerReplica: rng.IntN(32), MemGiBPerReplica: rng.IntN(256), ExclusiveNode: rng.IntN(8) == 0}
			snap.Running = append(snap.Running, model.Allocation{Job: j, Replicas: []model.Placement{{Node: n.Name, GPUs: perm[:used]}}})
		}
		for _, g := range perm[used:] {
			if rng.IntN(6) == 0 {
				st.GPUs[g] = model.GPUState{Dirty: true, LastTenant: fmt.Sprintf("t%d", rng.IntN(3)), Down: rng.IntN(4) == 0}
			}
		}
		snap.Nodes = append(snap.Nodes, st)
	}
	return snap
}

func TestFindAgainstOracle(t *testing.T) {
	seeds := 2000
	if testing.Short() {
		seeds = 200
	}
	stats = map[string]int{}
	for seed := 0; seed < seeds; seed++ {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		snap := randomSnapshot(rng)
		c := New(snap, nil)
		nodes := oracleState(snap)
		siteIdx := map[string]int{}
		for i, s := range snap.Facility.Sites {
			siteIdx[s.ID] = i
		}
		models := make([]string, len(c.Models))
		for i, m := range c.Models {
			models[i] = m.Name
		}
		for q := 0; q < 10; q++ {
			r := Request{Tenant: fmt.Sprintf("t%d", rng.IntN(3)), Model: rng.IntN(len(models)),
				Replicas: 1 + rng.IntN(6), GPUs: 1 + rng.IntN(8), CPUs: rng.IntN(16), Mem: rng.IntN(128),
				Level: rng.IntN(NumLevels + 1), Required: rng.IntN(2) == 0, ExclusiveNode: rng.IntN(10) == 0}
			r.TenantExcl = r.Tenant == "t2"
			if rng.IntN(3) == 0 {
				r.Sites = make([]bool, len(snap.Facility.Sites))
				r.Sites[rng.IntN(len(r.Sites))] = true
			}
			if r.Level == NumLevels {
				r.Required = false
			}
			if rng.IntN(2) == 0 {
				r.Replicas = 1
			}
			checkFind(t, fmt.Sprintf("seed %d query %d %+v", seed, q, r), c, &r, nodes, siteIdx, models)
		}
	}
	t.Logf("cases: %v", stats)
	for _, k := range []string{"infeasible", "single", "gang-level-0", "gang-level-2", "gang-any"} {
		if stats[k] == 0 {
			t.Errorf("no %s case among the random queries; the generator is too narrow", k)
		}
	}
}

var stats map[string]int

func checkFind(t *testing.T, name string, c *Cluster, r *Request, nodes []*oracleNode, siteIdx map[string]int, models []string) {
	t.Helper()
	caps := make([]int, len(nodes))
	total := 0
	for i, o := range nodes {
		caps[i] = o.capacity(r, siteIdx, models)
		total += caps[i]
	}
	// the smallest feasible group (fewest nodes, then least capacity)
	// among levels allowed by the requirement
	nests := func(a, b int) bool {
		parent := map[string]string{}
		for _, o := range nodes {
			ka, kb := groupKey(o.spec, a), groupKey(o.spec, b)
			if p, ok := parent[ka]; ok && p != kb {
				return false
			}
			parent[ka] = kb
		}
		return true
	}
	type grp struct {
		level int
		key   string
	}
	wantLevel, wantSize, wantSum := -1, 0, 0
	var minimal []grp
	for l := 0; l < NumLevels; l++ {
		if r.Required && r.Level < NumLevels && !nests(l, r.Level) {
			continue
		}
		sums, sizes := map[string]int{}, map[string]int{}
		for i, o := range nodes {
			sums[groupKey(o.spec, l)] += caps[i]
			sizes[groupKey(o.spec, l)]++
		}
		for k, s := range sums {
			if s < r.Replicas {
				continue
			}
			switch {
			case wantLevel < 0 || sizes[k] < wantSize || (sizes[k] == wantSize && s < wantSum):
				wantLevel, wantSize, wantSum = l, sizes[k], s
				minimal = []grp{{l, k}}
			case sizes[k] == wantSize && s == wantSum:
				minimal = append(minimal, grp{l, k})
			}
		}
	}
	feasible := wantLevel >= 0 || (!r.Required && r.Level >= NumLevels && total >= r.Replicas)
	if r.Replicas == 1 {
		feasible = total >= 1
	}
	res := c.Find(r)
	if res.OK() != feasible {
		t.Fatalf("%s: Find ok=%v, oracle feasible=%v (total %d)", name, res.OK(), feasible, total)
	}
	if !feasible {
		stats["infeasible"]++
		return
	}
	switch {
	case r.Replicas == 1:
		stats["single"]++
	case wantLevel < 0:
		stats["gang-any"]++
	default:
		stats[fmt.Sprintf("gang-level-%d", wantLevel)]++
	}
	if len(res.Slots) != r.Replicas {
		t.Fatalf("%s: %d slots for %d replicas", name, len(res.Slots), r.Replicas)
	}
	used := map[int]int{}
	seen := map[[2]int]bool{}
	for _, s := range res.Slots {
		used[s.Node]++
		if len(s.GPUs) != r.GPUs {
			t.Fatalf("%s: slot with %d GPUs", name, len(s.GPUs))
		}
		o := nodes[s.Node]
		for _, g := range s.GPUs {
			if o.busy[g] || seen[[2]int{s.Node, g}] || (o.dirty[g] != "" && o.dirty[g] != r.Tenant) || g >= o.spec.GPUs {
				t.Fatalf("%s: GPU %d of %s is not usable", name, g, o.spec.Name)
			}
			seen[[2]int{s.Node, g}] = true
		}
	}
	for n, k := range used {
		if k > caps[n] {
			t.Fatalf("%s: %d replicas on %s, which takes %d", name, k, nodes[n].spec.Name, caps[n])
		}
	}
	if r.Replicas == 1 {
		best := -1
		for i, o := range nodes {
			if caps[i] >= 1 && (best < 0 || o.free() < nodes[best].free()) {
				best = i
			}
		}
		if res.Slots[0].Node != best {
			t.Fatalf("%s: single replica on %s (free %d), best fit is %s (free %d)", name,
				nodes[res.Slots[0].Node].spec.Name, nodes[res.Slots[0].Node].free(), nodes[best].spec.Name, nodes[best].free())
		}
		return
	}
	if wantLevel < 0 {
		return // spread across sites, allowed for topology "any"
	}
	for _, g := range minimal {
		inside := true
		for n := range used {
			if groupKey(nodes[n].spec, g.level) != g.key {
				inside = false
			}
		}
		if inside {
			return
		}
	}
	t.Fatalf("%s: gang not inside any smallest feasible group (size %d, capacity %d): %v", name, wantSize, wantSum, minimal)
}

// tenantExclusive is the oracle's own lookup.
func tenantExclusive(fac *model.Facility, tenant string) bool {
	for i := range fac.Tenants {
		if fac.Tenants[i].Name == tenant {
			return fac.Tenants[i].Exclusive == model.ExclusiveNode
		}
	}
	return false
}
