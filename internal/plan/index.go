package plan

import (
	"sync"

	"github.com/carnot-dc/carnot/internal/model"
)

// facIndex holds the lookups over a facility; they never change once
// built, so a Checker shares them between calls (and goroutines). Only
// the kept state changes, one check at a time (takeKept).
type facIndex struct {
	fac      *model.Facility
	nodes    map[string]*model.Node
	sites    map[string]*model.Site
	halls    map[string]*model.Hall
	racks    map[string]*model.Rack
	tenants  map[string]*model.Tenant
	models   map[string]model.GPUModel
	speeds   map[string]float64 // fac.CappedSpeeds()
	once     sync.Once
	t        *facTables // see tab
	keptMu   sync.Mutex
	kept     *kept // the last snapshot's running work; nil while a check holds it
	keptMade bool
}

func newFacIndex(fac *model.Facility) *facIndex {
	if fac == nil {
		fac = &model.Facility{}
	}
	x := &facIndex{
		fac:     fac,
		nodes:   make(map[string]*model.Node, len(fac.Nodes)),
		sites:   make(map[string]*model.Site, len(fac.Sites)),
		halls:   make(map[string]*model.Hall, len(fac.Halls)),
		racks:   make(map[string]*model.Rack, len(fac.Racks)),
		tenants: make(map[string]*model.Tenant, len(fac.Tenants)),
		models:  fac.GPUModels,
		speeds:  fac.CappedSpeeds(),
	}
	for i := range fac.Nodes {
		n := &fac.Nodes[i]
		x.nodes[n.Name] = n
	}
	for i := range fac.Sites {
		x.sites[fac.Sites[i].ID] = &fac.Sites[i]
	}
	for i := range fac.Halls {
		x.halls[fac.Halls[i].ID] = &fac.Halls[i]
	}
	for i := range fac.Racks {
		x.racks[fac.Racks[i].ID] = &fac.Racks[i]
	}
	for i := range fac.Tenants {
		x.tenants[fac.Tenants[i].Name] = &fac.Tenants[i]
	}
	return x
}

// index holds lookups over one snapshot. It never modifies the snapshot.
type index struct {
	*facIndex
	snap      *model.Snapshot
	states    map[string]*model.NodeState
	pending   map[string]*model.Job
	runIndex  map[string][]*model.Allocation // by job ID, built on first use
	scans     int                            // lookups done by scanning
	sc        *loadScratch                   // working memory, see scratch
	nodesDone bool                           // sc.runNode is filled
	keep      bool                           // may use the Checker's kept state
	synced    bool                           // keptState was asked
	k         *kept                          // the kept state, up to date with snap; nil if not held
}

func newIndex(snap *model.Snapshot) *index {
	return newFacIndex(snap.Facility).index(snap)
}

// index returns the lookups over snap, a snapshot of x's facility.
func (x *facIndex) index(snap *model.Snapshot) *index {
	ix := &index{
		facIndex: x,
		snap:     snap,
		states:   make(map[string]*model.NodeState, len(snap.Nodes)),
		pending:  make(map[string]*model.Job, len(snap.Pending)),
	}
	return ix.fill()
}

// checkIndex is index for a check: its maps come from the working
// memory it holds until release, and go back with it.
func (x *facIndex) checkIndex(snap *model.Snapshot) *index {
	ix := &index{facIndex: x, snap: snap}
	sc := ix.scratch()
	sc.maps.reset()
	ix.states, ix.pending = sc.maps.states, sc.maps.pending
	return ix.fill()
}

// fill indexes the snapshot's node states and pending jobs.
func (ix *index) fill() *index {
	snap := ix.snap
	for i := range snap.Nodes {
		ix.states[snap.Nodes[i].Node] = &snap.Nodes[i]
	}
	for _, j := range snap.Pending {
		if j != nil {
			ix.pending[j.ID] = j
		}
	}
	return ix
}

// runs reports whether job id has a running allocation. A few lookups
// scan the allocations instead of indexing them all, unless the Checker
// keeps them by job.
func (x *index) runs(id string) bool {
	if k := x.keptState(); k != nil {
		return k.runs(x.snap, id)
	}
	if x.runIndex == nil && x.scans < 8 {
		x.scans++
		for i := range x.snap.Running {
			if a := &x.snap.Running[i]; a.Job != nil && a.Job.ID == id {
				return true
			}
		}
		return false
	}
	return len(x.running(id)) > 0
}

// running returns the allocations of job id (deployments may have
// several), in snapshot order.
func (x *index) running(id string) []*model.Allocation {
	if k := x.keptState(); k != nil {
		return k.running(x.snap, id)
	}
	if x.runIndex == nil {
		x.runIndex = make(map[string][]*model.Allocation, len(x.snap.Running))
		for i := range x.snap.Running {
			a := &x.snap.Running[i]
			if a.Job != nil {
				x.runIndex[a.Job.ID] = append(x.runIndex[a.Job.ID], a)
			}
		}
	}
	return x.runIndex[id]
}

// condition returns a node's condition; nodes without a state are up.
func (x *index) condition(node string) model.NodeCondition {
	if st, ok := x.states[node]; ok && st.Condition != "" {
		return st.Condition
	}
	return model.NodeUp
}

// gpuState returns the state of GPU i of node; missing entries are clean.
func (x *index) gpuState(node string, i int) model.GPUState {
	if st, ok := x.states[node]; ok && i >= 0 && i < len(st.GPUs) {
		return st.GPUs[i]
	}
	return model.GPUState{}
}

// job returns the job with id, pending first, then running; nil if none.
func (x *index) job(id string) *model.Job {
	if j, ok := x.pending[id]; ok {
		return j
	}
	if !x.runs(id) {
		return nil
	}
	if as := x.running(id); len(as) > 0 {
		return as[0].Job
	}
	return nil
}

// runningReplicas counts the replicas of job id that hold resources.
func (x *index) runningReplicas(id string) int {
	n := 0
	for _, a := range x.running(id) {
		n += len(a.Replicas)
	}
	return n
}
