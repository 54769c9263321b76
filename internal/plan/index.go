package plan

import "github.com/carnot-dc/carnot/internal/model"

// index holds lookups over one snapshot. It never modifies the snapshot.
type index struct {
	fac     *model.Facility
	nodes   map[string]*model.Node
	states  map[string]*model.NodeState
	sites   map[string]*model.Site
	halls   map[string]*model.Hall
	racks   map[string]*model.Rack
	tenants map[string]*model.Tenant
	models  map[string]model.GPUModel
	pending map[string]*model.Job
	running map[string][]*model.Allocation // by job ID; deployments may have several
}

func newIndex(snap *model.Snapshot) *index {
	fac := snap.Facility
	if fac == nil {
		fac = &model.Facility{}
	}
	x := &index{
		fac:     fac,
		nodes:   make(map[string]*model.Node, len(fac.Nodes)),
		states:  make(map[string]*model.NodeState, len(snap.Nodes)),
		sites:   make(map[string]*model.Site, len(fac.Sites)),
		halls:   make(map[string]*model.Hall, len(fac.Halls)),
		racks:   make(map[string]*model.Rack, len(fac.Racks)),
		tenants: make(map[string]*model.Tenant, len(fac.Tenants)),
		models:  fac.GPUModels,
		pending: make(map[string]*model.Job, len(snap.Pending)),
		running: make(map[string][]*model.Allocation, len(snap.Running)),
	}
	for i := range fac.Nodes {
		x.nodes[fac.Nodes[i].Name] = &fac.Nodes[i]
	}
	for i := range snap.Nodes {
		x.states[snap.Nodes[i].Node] = &snap.Nodes[i]
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
	for _, j := range snap.Pending {
		if j != nil {
			x.pending[j.ID] = j
		}
	}
	for i := range snap.Running {
		a := &snap.Running[i]
		if a.Job != nil {
			x.running[a.Job.ID] = append(x.running[a.Job.ID], a)
		}
	}
	return x
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
	if as := x.running[id]; len(as) > 0 {
		return as[0].Job
	}
	return nil
}

// runningReplicas counts the replicas of job id that hold resources.
func (x *index) runningReplicas(id string) int {
	n := 0
	for _, a := range x.running[id] {
		n += len(a.Replicas)
	}
	return n
}
