package plan

import (
	"math"
	"sort"
	"sync"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/quota"
)

// facTables are a facility's lookups by index, for the checks that fold
// every running allocation in: power and quota. They are built on first
// use (a one-off Verify that needs neither skips them) and never change.
type facTables struct {
	node  map[string]int32 // node name → index in fac.Nodes
	site  []int32          // per node: index in fac.Sites, -1 if none
	hall  []int32          // per node: index in fac.Halls, -1 if none
	rack  []int32          // per node: index in fac.Racks, -1 if none
	gpuAt []int32          // per node: offset of its first GPU in a per-GPU array
	idle  []float64        // per node: idle draw of one GPU
	tdp   []float64        // per node: TDP of one GPU
	base  []float64        // per node: BaseWatts + GPUs × idle, its draw with every GPU free
	gpus  int              // GPUs of the facility
	// the draw of each site, hall and rack with every node up and idle
	siteW, hallW, rackW []float64
	// quota: the models the tree counts (sorted by name), each node's
	// model index (-1 if none) and the tree with no usage
	qmodels []string
	qindex  map[string]int
	qmodel  []int32
	qtree   *quota.Tree
	scratch sync.Pool // *loadScratch
	// keepLoads: a Checker may keep the loads by difference (see kept):
	// the watts are whole and small enough that fold adds them exactly,
	// and every hall's and rack's nodes lie in one site, so that a
	// container fold looks at has all its nodes folded in.
	keepLoads bool
}

func (x *facIndex) tab() *facTables {
	x.once.Do(func() { x.t = buildTables(x.fac) })
	return x.t
}

func buildTables(fac *model.Facility) *facTables {
	t := &facTables{node: make(map[string]int32, len(fac.Nodes))}
	idx := func(ids []string) map[string]int32 {
		m := make(map[string]int32, len(ids))
		for i, id := range ids {
			m[id] = int32(i) // the last of a duplicated ID, as the maps of facIndex
		}
		return m
	}
	ids := func(n int, id func(int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = id(i)
		}
		return out
	}
	sites := idx(ids(len(fac.Sites), func(i int) string { return fac.Sites[i].ID }))
	halls := idx(ids(len(fac.Halls), func(i int) string { return fac.Halls[i].ID }))
	racks := idx(ids(len(fac.Racks), func(i int) string { return fac.Racks[i].ID }))
	look := func(m map[string]int32, id string) int32 {
		if i, ok := m[id]; ok {
			return i
		}
		return -1
	}
	set := map[string]bool{}
	for name := range fac.GPUModels {
		set[name] = true
	}
	for i := range fac.Nodes {
		if m := fac.Nodes[i].GPUModel; m != "" {
			set[m] = true
		}
	}
	for name := range set {
		t.qmodels = append(t.qmodels, name)
	}
	sort.Strings(t.qmodels)
	t.qindex = make(map[string]int, len(t.qmodels))
	for i, name := range t.qmodels {
		t.qindex[name] = i
	}
	n := len(fac.Nodes)
	t.site, t.hall, t.rack, t.gpuAt = make([]int32, n), make([]int32, n), make([]int32, n), make([]int32, n)
	t.idle, t.tdp, t.base, t.qmodel = make([]float64, n), make([]float64, n), make([]float64, n), make([]int32, n)
	t.siteW, t.hallW, t.rackW = make([]float64, len(fac.Sites)), make([]float64, len(fac.Halls)), make([]float64, len(fac.Racks))
	for i := range fac.Nodes {
		nd := &fac.Nodes[i]
		t.node[nd.Name] = int32(i) // the last of a duplicated name, as facIndex.nodes
		m := fac.GPUModels[nd.GPUModel]
		t.site[i], t.hall[i], t.rack[i] = look(sites, nd.Site), look(halls, nd.Hall), look(racks, nd.Rack)
		t.gpuAt[i] = int32(t.gpus)
		t.gpus += max(0, nd.GPUs)
		t.idle[i], t.tdp[i] = float64(m.IdleWatts), float64(m.TDPWatts)
		w := nd.BaseWatts
		for g := 0; g < nd.GPUs; g++ {
			w += float64(m.IdleWatts)
		}
		t.base[i] = w
		t.qmodel[i] = -1
		if q, ok := t.qindex[nd.GPUModel]; ok {
			t.qmodel[i] = int32(q)
		}
		if s := t.site[i]; s >= 0 {
			t.siteW[s] += w
		}
		if h := t.hall[i]; h >= 0 {
			t.hallW[h] += w
		}
		if r := t.rack[i]; r >= 0 {
			t.rackW[r] += w
		}
	}
	t.qtree = quota.New(fac, t.qmodels)
	t.keepLoads = exactLoads(fac, t.gpus) && nested(t.site, t.hall, len(fac.Halls)) && nested(t.site, t.rack, len(fac.Racks))
	return t
}

// exactLoads reports whether every partial sum fold makes is a whole
// number of watts below 2^53, given GPU caps below exactW: base watts
// whole, GPU watts below exactW, and at most 2^26 GPUs.
func exactLoads(fac *model.Facility, gpus int) bool {
	for _, m := range fac.GPUModels {
		if max(m.TDPWatts, m.IdleWatts) >= exactW || min(m.TDPWatts, m.IdleWatts) <= -exactW {
			return false
		}
	}
	sum := 0.0
	for i := range fac.Nodes {
		b := fac.Nodes[i].BaseWatts
		if b != math.Trunc(b) || math.Abs(b) > 1<<50 {
			return false
		}
		sum += math.Abs(b)
	}
	return sum <= 1<<50 && gpus <= 1<<26
}

// nested reports whether the nodes of each container (by in, per node)
// lie in one site (or all in none).
func nested(site, in []int32, n int) bool {
	of := make([]int32, n)
	for i := range of {
		of[i] = -2 // no node yet
	}
	for nd, c := range in {
		switch {
		case c < 0:
		case of[c] == -2:
			of[c] = site[nd]
		case of[c] != site[nd]:
			return false
		}
	}
	return true
}

// nodeOf returns the index of the named node, or -1.
func (t *facTables) nodeOf(name string) int {
	if i, ok := t.node[name]; ok {
		return int(i)
	}
	return -1
}
