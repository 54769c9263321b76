package plan

import (
	"slices"
	"sort"

	"github.com/carnot-dc/carnot/internal/model"
)

// holder is a job holding resources on a node, running or started.
type holder struct {
	job     *model.Job
	started bool
}

// nodeUse is what running allocations and the plan's starts put on one
// node.
type nodeUse struct {
	gpus    []gpuHolder // the GPUs held, in order of arrival
	cpus    int
	mem     int
	holders []holder // in order of arrival, one per job
	starts  bool     // the plan starts something here
}

// nodeUses are the node uses of a check by node name, and their memory
// kept for the next check.
type nodeUses struct {
	byName map[string]*nodeUse
	all    []*nodeUse // those made so far; the first n are in byName
	n      int
}

// reset empties us for a check.
func (us *nodeUses) reset() {
	if us.byName == nil || len(us.byName) > 1024 {
		us.byName = map[string]*nodeUse{}
	} else {
		clear(us.byName)
	}
	for _, u := range us.all[:us.n] {
		clear(u.holders) // no job kept past its check
		*u = nodeUse{gpus: u.gpus[:0], holders: u.holders[:0]}
	}
	us.n = 0
}

// get returns node n's use, made empty on first use in a check.
func (us *nodeUses) get(n string) *nodeUse {
	u := us.byName[n]
	if u == nil {
		if us.n == len(us.all) {
			us.all = append(us.all, &nodeUse{gpus: make([]gpuHolder, 0, 8)})
		}
		u = us.all[us.n]
		us.n++
		us.byName[n] = u
	}
	return u
}

// run records running job j's placement pl: a GPU held twice stays the
// first holder's.
func (u *nodeUse) run(j *model.Job, pl *model.Placement) {
	for _, g := range pl.GPUs {
		if _, held := u.heldBy(g); !held {
			u.gpus = append(u.gpus, gpuHolder{g, j.ID})
		}
	}
	u.cpus += j.CPUsPerReplica
	u.mem += j.MemGiBPerReplica
	u.hold(j, false)
}

// gpuHolder is a GPU of a node and the job holding it.
type gpuHolder struct {
	gpu int
	job string
}

// heldBy is the job holding GPU g, if one does (a node has a few GPUs:
// a walk beats a map).
func (u *nodeUse) heldBy(g int) (string, bool) {
	for _, h := range u.gpus {
		if h.gpu == g {
			return h.job, true
		}
	}
	return "", false
}

func (u *nodeUse) hold(j *model.Job, started bool) {
	for _, h := range u.holders {
		if h.job.ID == j.ID {
			return
		}
	}
	u.holders = append(u.holders, holder{job: j, started: started})
}

// starts checks every start's placements, then the per-node and power
// invariants the starts together must keep.
func (v *verifier) starts() {
	us := &v.x.scratch().uses
	us.reset()
	use, get := us.byName, us.get
	if len(v.p.Starts) > 0 {
		v.occupancy(get)
	}
	for _, s := range v.p.Starts {
		j := v.x.job(s.Job)
		if j == nil {
			continue // reported by coverage
		}
		v.gang(s, j)
		v.shape(s, j)
		if v.p.Now < j.EarliestStart {
			v.add(CodeNotBefore, j.ID, "", -1, "starts at %s, before its earliest start %s", v.p.Now, j.EarliestStart)
		}
		tenant := v.x.tenants[j.Tenant]
		for _, pl := range s.Replicas {
			v.placement(j, tenant, pl, get(pl.Node))
		}
	}
	v.nodeTotals(use)
	v.power()
	v.quota()
}

// gang checks the replica and GPU counts of a start.
func (v *verifier) gang(s model.Start, j *model.Job) {
	n := len(s.Replicas)
	switch {
	case n == 0:
		v.add(CodeGang, j.ID, "", -1, "start without placements")
	case j.Kind == model.KindDeployment:
		run := v.x.runningReplicas(j.ID)
		lo := max(j.MinReplicas, 1)
		if run+n > j.Replicas {
			v.add(CodeGang, j.ID, "", -1, "deployment would run %d+%d replicas, more than its %d", run, n, j.Replicas)
		}
		if run+n < lo {
			v.add(CodeGang, j.ID, "", -1, "deployment would run %d+%d replicas, fewer than its minimum %d", run, n, lo)
		}
	default:
		if n != j.Replicas {
			v.add(CodeGang, j.ID, "", -1, "gang starts %d of %d replicas", n, j.Replicas)
		}
	}
	for i, pl := range s.Replicas {
		if len(pl.GPUs) != j.GPUsPerReplica {
			v.add(CodeGang, j.ID, pl.Node, -1, "replica %d has %d GPUs, want %d", i, len(pl.GPUs), j.GPUsPerReplica)
		}
	}
}

// placement checks one replica's place and records it in u.
func (v *verifier) placement(j *model.Job, tenant *model.Tenant, pl model.Placement, u *nodeUse) {
	node, ok := v.x.nodes[pl.Node]
	if !ok {
		v.add(CodeNode, j.ID, pl.Node, -1, "unknown node")
		return
	}
	u.starts = true
	u.cpus += j.CPUsPerReplica
	u.mem += j.MemGiBPerReplica
	u.hold(j, true)
	if c := v.x.condition(node.Name); c != model.NodeUp {
		v.add(CodeCondition, j.ID, node.Name, -1, "node is %s", c)
	}
	if slices.Contains(v.snap.AvoidNodes[j.ID], node.Name) {
		v.add(CodeAvoided, j.ID, node.Name, -1, "an earlier attempt of the job could not start there")
	}
	if j.GPUsPerReplica > 0 && !j.AcceptsModel(node.GPUModel) {
		v.add(CodeModel, j.ID, node.Name, -1, "model %s not among the job's models %v", node.GPUModel, j.GPUModels)
	}
	if site := v.x.sites[node.Site]; !SiteAllowed(v.x.fac, tenant, j, site) {
		allowed, _ := AllowedJurisdictions(tenant, j)
		var tags []string
		if site != nil {
			tags = site.Jurisdictions
		}
		if c := v.x.fac.DataClasses[j.DataClass]; len(c) > 0 {
			v.add(CodeSovereignty, j.ID, node.Name, -1, "site %s %v does not satisfy the allowed jurisdictions %v and data class %s %v", node.Site, tags, allowed, j.DataClass, c)
		} else {
			v.add(CodeSovereignty, j.ID, node.Name, -1, "site %s %v carries none of the allowed jurisdictions %v", node.Site, tags, allowed)
		}
	}
	if pl.PowerCapW != 0 {
		m := v.x.models[node.GPUModel]
		if !m.CanCap() || pl.PowerCapW < m.MinCapWatts || pl.PowerCapW > m.MaxCapWatts {
			v.add(CodePowerCap, j.ID, node.Name, -1, "power cap %d W outside %s's range [%d, %d] W",
				pl.PowerCapW, node.GPUModel, m.MinCapWatts, m.MaxCapWatts)
		}
	}
	seen := map[int]bool{}
	for _, g := range pl.GPUs {
		switch {
		case g < 0 || g >= node.GPUs:
			v.add(CodeGPU, j.ID, node.Name, g, "index out of range [0, %d)", node.GPUs)
			continue
		case seen[g]:
			v.add(CodeGPU, j.ID, node.Name, g, "listed twice in one placement")
			continue
		}
		seen[g] = true
		if other, held := u.heldBy(g); held {
			v.add(CodeGPUConflict, j.ID, node.Name, g, "already held by job %s", other)
		} else {
			u.gpus = append(u.gpus, gpuHolder{g, j.ID})
		}
		st := v.x.gpuState(node.Name, g)
		if st.Down {
			// the one refusal: no claim's end or scrub makes it usable
			v.add(CodeGPUDown, j.ID, node.Name, g, "down: its node's agent reports it lost")
			continue
		}
		if cj, ok := v.x.pending[st.ClaimedBy]; ok && st.ClaimedBy != "" && cj.ID != j.ID && v.claimHolds(cj.ID) {
			v.add(CodeClaimed, j.ID, node.Name, g, "claimed by pending job %s of tenant %s", cj.ID, cj.Tenant)
		}
		// A dirty GPU without a LastTenant is dirty for every tenant:
		// nobody is known to own what is left on it.
		if st.Dirty && st.LastTenant == "" {
			v.add(CodeDirty, j.ID, node.Name, g, "dirty, with no last tenant recorded")
		} else if st.Dirty && st.LastTenant != j.Tenant {
			v.add(CodeDirty, j.ID, node.Name, g, "dirty after tenant %s, job's tenant is %s", st.LastTenant, j.Tenant)
		}
	}
}

// nodeTotals checks CPU, memory and exclusivity on nodes with starts.
func (v *verifier) nodeTotals(use map[string]*nodeUse) {
	names := make([]string, 0, len(use))
	for n, u := range use {
		if u.starts {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		u, node := use[name], v.x.nodes[name]
		if node == nil {
			continue
		}
		first := firstStarted(u)
		if u.cpus > node.CPUs {
			v.add(CodeCPU, first, name, -1, "%d CPUs requested, node has %d", u.cpus, node.CPUs)
		}
		if u.mem > node.MemoryGiB {
			v.add(CodeMemory, first, name, -1, "%d GiB memory requested, node has %d GiB", u.mem, node.MemoryGiB)
		}
		v.exclusive(name, u)
	}
}

func firstStarted(u *nodeUse) string {
	for _, h := range u.holders {
		if h.started {
			return h.job.ID
		}
	}
	return ""
}

// exclusive reports each started job that shares the node in breach of
// an exclusive-node job or a node-exclusive tenant.
func (v *verifier) exclusive(node string, u *nodeUse) {
	for _, h := range u.holders {
		if !h.started {
			continue
		}
		for _, o := range u.holders {
			if o.job.ID == h.job.ID {
				continue
			}
			if h.job.ExclusiveNode || o.job.ExclusiveNode {
				v.add(CodeExclusive, h.job.ID, node, -1, "shares the node with job %s and one of them is exclusive-node", o.job.ID)
				break
			}
			if o.job.Tenant != h.job.Tenant && (v.nodeExclusive(h.job.Tenant) || v.nodeExclusive(o.job.Tenant)) {
				v.add(CodeExclusive, h.job.ID, node, -1, "tenant %s shares the node with tenant %s (job %s) and one of them is node-exclusive",
					h.job.Tenant, o.job.Tenant, o.job.ID)
				break
			}
		}
	}
}

func (v *verifier) nodeExclusive(tenant string) bool {
	t := v.x.tenants[tenant]
	return t != nil && t.Exclusive == model.ExclusiveNode
}

// claimHolds reports whether GPUs claimed for pending job id are still
// its alone in this plan: it does not start, and it waits for its
// preemption (pending as "preempting"). A beneficiary that starts leaves
// what it did not take, and one the core gave up on ("capacity", "power",
// …) holds nothing.
func (v *verifier) claimHolds(id string) bool {
	if v.started[id] {
		return false
	}
	if v.preempting == nil {
		v.preempting = map[string]bool{}
		for _, pe := range v.p.Pending {
			if pe.Code == model.ReasonPreempting {
				v.preempting[pe.Job] = true
			}
		}
	}
	return v.preempting[id]
}
