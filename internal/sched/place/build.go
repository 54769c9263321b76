package place

import (
	"sort"

	"github.com/carnot-dc/carnot/internal/model"
)

// Static is the view of a facility with every node up, idle and clean:
// everything a cluster view takes from the facility alone (models, power
// containers, topology groups and their nesting, pools). Prepare it once
// per facility and build each pass's view from it with NewFrom; the
// facility must not change while a Static of it is in use.
type Static struct{ c Cluster }

// Facility is the facility s was prepared from.
func (s *Static) Facility() *model.Facility { return s.c.Fac }

// Prepare builds the static view of fac.
func Prepare(fac *model.Facility) *Static {
	c := &Cluster{
		Fac:        fac,
		ModelIndex: make(map[string]int),
		NodeIndex:  make(map[string]int, len(fac.Nodes)),
		PoolIndex:  make(map[[2]int]int),
		PowerOn:    fac.Policy.Power,
	}
	names := make([]string, 0, len(fac.GPUModels))
	for name := range fac.GPUModels {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		c.ModelIndex[name] = len(c.Models)
		gm := fac.GPUModels[name]
		gm.Name = name
		c.Models = append(c.Models, gm)
	}
	// GPU-less nodes form pools of a virtual model that only replicas
	// without GPUs ask for; jobs cannot name it.
	c.CPUModel = len(c.Models)
	c.Models = append(c.Models, model.GPUModel{Name: CPUOnly})
	siteIdx, hallIdx, rackIdx := map[string]int{}, map[string]int{}, map[string]int{}
	for i := range fac.Sites {
		s := &fac.Sites[i]
		siteIdx[s.ID] = i
		c.SiteSpecs = append(c.SiteSpecs, s)
		c.Sites = append(c.Sites, Power{ID: s.ID, LimitW: s.PowerEnvelopeKW * 1000})
	}
	for i, h := range fac.Halls {
		hallIdx[h.ID] = i
		c.Halls = append(c.Halls, Power{ID: h.ID, LimitW: h.PowerCapKW * 1000})
	}
	for i, r := range fac.Racks {
		rackIdx[r.ID] = i
		c.Racks = append(c.Racks, Power{ID: r.ID, LimitW: r.PowerCapKW * 1000})
	}
	var groupIdx [NumLevels]map[string]int32
	for l := range groupIdx {
		groupIdx[l] = map[string]int32{}
	}
	// A group below the site level is of one site: two sites' nodes that
	// share a name at that level (hall "", as the live server gives the
	// nodes of a site its facility gives no hall) are not one group. The
	// name stays the group's name in reasons.
	group := func(l int, site, name string) int32 {
		key := name
		if Levels[l] != model.LevelSite {
			key = site + "\x00" + name
		}
		if g, ok := groupIdx[l][key]; ok {
			return g
		}
		g := int32(len(c.GroupNames[l]))
		groupIdx[l][key] = g
		c.GroupNames[l] = append(c.GroupNames[l], name)
		return g
	}
	c.Nodes = make([]Node, len(fac.Nodes))
	off := 0 // each node's GPUs have a slot in the per-GPU arrays (dirty, claim)
	for i := range fac.Nodes {
		spec := &fac.Nodes[i]
		m, ok := c.ModelIndex[spec.GPUModel]
		switch {
		case spec.GPUs <= 0:
			m = c.CPUModel
		case !ok:
			m = -1 // a model the facility does not know: nothing is placed here
		}
		nd := Node{Spec: spec, Site: idx(siteIdx, spec.Site), Hall: idx(hallIdx, spec.Hall),
			Rack: idx(rackIdx, spec.Rack), Model: m, Up: true, NGPU: max(0, min(spec.GPUs, 64)),
			FreeCPU: spec.CPUs, FreeMem: spec.MemoryGiB, Spare: -1, dirtyOff: off, Pool: -1}
		off += nd.NGPU
		nd.Free = nd.NGPU
		nvl, leaf := spec.NVLinkDomain, spec.Leaf
		if nvl == "" {
			nvl = "node:" + spec.Name
		}
		if leaf == "" {
			leaf = "rack:" + spec.Rack
		}
		for l, key := range [NumLevels]string{nvl, leaf, spec.Rack, spec.Hall, spec.Site} {
			nd.Group[l] = group(l, spec.Site, key)
		}
		c.addIdleLoad(&nd)
		c.NodeIndex[spec.Name] = i
		c.Nodes[i] = nd
	}
	c.buildPools()
	c.buildGroups()
	c.powerSites()
	return &Static{c: *c}
}

// New builds the cluster view of snap: every node with its state and the
// resources its running allocations hold. Entries of the snapshot that
// name unknown nodes or GPUs are ignored (plan.Verify reports them).
// pendingTenant finds a pending job's tenant, for GPUs claimed by a
// preemption's beneficiary; nil looks in snap.Pending.
func New(snap *model.Snapshot, pendingTenant func(id string) (string, bool)) *Cluster {
	return NewFrom(Prepare(snap.Facility), snap, pendingTenant)
}

// NewFrom is New from a prepared static view of snap.Facility.
func NewFrom(st *Static, snap *model.Snapshot, pendingTenant func(id string) (string, bool)) *Cluster {
	fac := snap.Facility
	c := st.c.Clone()
	claims := false
	for i := range snap.Nodes {
		for _, gs := range snap.Nodes[i].GPUs {
			claims = claims || gs.ClaimedBy != ""
		}
	}
	if claims && pendingTenant == nil {
		byID := make(map[string]string)
		for _, j := range snap.Pending {
			if j != nil {
				byID[j.ID] = j.Tenant
			}
		}
		pendingTenant = func(id string) (string, bool) { t, ok := byID[id]; return t, ok }
	}
	claimant := pendingTenant
	for i := range snap.Nodes {
		st := &snap.Nodes[i]
		n, ok := c.NodeIndex[st.Node]
		if !ok {
			continue
		}
		nd := &c.Nodes[n]
		if st.Condition != "" && st.Condition != model.NodeUp && nd.Up {
			c.setBucket(n, false)
			nd.Up = false
			if nd.Pool >= 0 {
				c.Pools[nd.Pool].Down++
			}
		}
		if st.Condition == model.NodeUnreachable && !nd.Nameplate && nd.Model >= 0 {
			// every GPU at TDP (allocations come after the node states)
			nd.Nameplate = true
			c.addLoad(nd, float64(nd.NGPU)*(c.GPUWatts(nd.Model, 0)-float64(c.Models[nd.Model].IdleWatts)))
		}
		for g, gs := range st.GPUs {
			if g >= nd.NGPU {
				break
			}
			if gs.Down {
				c.noteDown(nd, g, true)
			}
			if owner := restriction(gs, claimant); owner != "" && c.dirtyOwner(nd, g) == "" {
				c.setBucket(n, false)
				c.markDirty(nd, g, owner)
				nd.Dirty++
				if nd.Up {
					c.setBucket(n, true)
				}
				if gs.ClaimedBy != "" && claimant != nil {
					if _, pending := claimant(gs.ClaimedBy); pending {
						c.markClaim(nd, g, gs.ClaimedBy)
					}
				}
			}
		}
	}
	excl := map[string]bool{}
	for i := range fac.Tenants {
		excl[fac.Tenants[i].Name] = fac.Tenants[i].Exclusive == model.ExclusiveNode
	}
	for i := range snap.Running {
		a := &snap.Running[i]
		if a.Job == nil {
			continue
		}
		for _, r := range a.Replicas {
			n, ok := c.NodeIndex[r.Node]
			if !ok {
				continue
			}
			c.Alloc(n, r.GPUs, a.Job, r.PowerCapW, excl[a.Job.Tenant])
		}
	}
	return c
}

func idx(m map[string]int, k string) int {
	if i, ok := m[k]; ok {
		return i
	}
	return -1
}

// Nobody is the owner of a GPU no tenant may use until it is scrubbed:
// dirty with no known last tenant.
const Nobody = "\x00"

// GPUDown is the owner of a GPU no tenant may use because it is down
// (model.GPUState.Down): like Nobody, but reasons tell it apart.
const GPUDown = "\x01"

func ownerOf(gs model.GPUState) string {
	if gs.LastTenant == "" {
		return Nobody
	}
	return gs.LastTenant
}

// ClaimKey is the owner a GPU claimed for pending job id carries: only a
// request whose Claim is that key may use it. It can equal no tenant name
// (it starts with a control character).
func ClaimKey(id string) string { return "\x02" + id }

// restriction is who alone may use a free GPU ("" = anyone): a GPU
// down goes to nobody (GPUDown); a GPU claimed by a pending job goes to
// that job only (ClaimKey), once it is clean of other tenants' work —
// not to its tenant's other jobs, and so not back to the victims it was
// taken from; a dirty GPU goes to its last tenant.
func restriction(gs model.GPUState, claimant func(string) (string, bool)) string {
	if gs.Down {
		return GPUDown
	}
	if gs.ClaimedBy == "" || claimant == nil {
		if gs.Dirty {
			return ownerOf(gs)
		}
		return ""
	}
	if y, ok := claimant(gs.ClaimedBy); ok {
		if gs.Dirty && ownerOf(gs) != y {
			return Nobody
		}
		return ClaimKey(gs.ClaimedBy)
	}
	if gs.Dirty {
		return ownerOf(gs)
	}
	return ""
}

// markClaim records the job a preemption freed GPU g of nd for (kept
// for reasons only; it never changes during a pass; SetState changes it
// between passes).
func (c *Cluster) markClaim(nd *Node, g int, job string) {
	if c.claim == nil {
		c.claim = make([]string, c.gpuSlots())
	}
	c.claim[nd.dirtyOff+g] = job
}

// ClaimOf returns the job GPU g of node n is claimed for, or "".
func (c *Cluster) ClaimOf(n, g int) string {
	if c.claim == nil {
		return ""
	}
	return c.claim[c.Nodes[n].dirtyOff+g]
}

// noteDown records whether GPU g of nd is down (Node.GPUsDown). A GPU
// down makes the per-GPU restrictions exist and be kept by the undo log
// (anyDirty), even while a replica holds it: its release marks it.
func (c *Cluster) noteDown(nd *Node, g int, down bool) {
	if !down {
		nd.GPUsDown &^= 1 << g
		return
	}
	nd.GPUsDown |= 1 << g
	if c.dirty == nil {
		c.dirty = make([]string, c.gpuSlots())
	}
	c.anyDirty = true
}

func (c *Cluster) markDirty(nd *Node, g int, tenant string) {
	if c.dirty == nil {
		c.dirty = make([]string, c.gpuSlots())
	}
	c.anyDirty = true
	c.dirty[nd.dirtyOff+g] = tenant
}

func (c *Cluster) idleLoad(nd *Node) float64 {
	w := nd.Spec.BaseWatts
	if nd.Model >= 0 {
		w += float64(nd.NGPU * c.Models[nd.Model].IdleWatts)
	}
	return w
}

func (c *Cluster) addIdleLoad(nd *Node) { c.addLoad(nd, c.idleLoad(nd)) }

// dirtyOwner is the restriction already recorded on GPU g of nd.
func (c *Cluster) dirtyOwner(nd *Node, g int) string {
	if c.dirty == nil {
		return ""
	}
	return c.dirty[nd.dirtyOff+g]
}

func (c *Cluster) addLoad(nd *Node, w float64) {
	c.saveLoads(nd)
	c.addLoadSaved(nd, w)
}

// saveLoads records the load of nd's site, hall and rack in the undo log.
func (c *Cluster) saveLoads(nd *Node) {
	if c.undo == nil {
		c.changed(c.siteOf(nd))
	}
	if c.undo != nil {
		if nd.Site >= 0 {
			c.savePower(&c.Sites[nd.Site])
		}
		if nd.Hall >= 0 {
			c.savePower(&c.Halls[nd.Hall])
		}
		if nd.Rack >= 0 {
			c.savePower(&c.Racks[nd.Rack])
		}
	}
}

// addLoadSaved is addLoad once saveLoads has recorded the loads since
// the innermost Begin (a later record would restore nothing older).
func (c *Cluster) addLoadSaved(nd *Node, w float64) {
	if nd.Site >= 0 {
		c.Sites[nd.Site].LoadW += w
	}
	if nd.Hall >= 0 {
		c.Halls[nd.Hall].LoadW += w
	}
	if nd.Rack >= 0 {
		c.Racks[nd.Rack].LoadW += w
	}
}

func (c *Cluster) buildPools() {
	for i := range c.Nodes {
		nd := &c.Nodes[i]
		if nd.Model < 0 || nd.Site < 0 {
			continue
		}
		key := [2]int{nd.Site, nd.Model}
		p, ok := c.PoolIndex[key]
		if !ok {
			p = len(c.Pools)
			c.PoolIndex[key] = p
			c.Pools = append(c.Pools, Pool{Site: nd.Site, Model: nd.Model})
		}
		nd.Pool = int32(p)
		nd.Pos = int32(len(c.Pools[p].Nodes))
		c.Pools[p].Nodes = append(c.Pools[p].Nodes, int32(i))
		c.Pools[p].Free += nd.Free
		c.Pools[p].MaxGPUs = max(c.Pools[p].MaxGPUs, nd.NGPU)
	}
	for p := range c.Pools {
		pool := &c.Pools[p]
		words := (len(pool.Nodes) + 63) / 64
		pool.Buckets = make([][]uint64, 65)
		for k := range pool.Buckets {
			pool.Buckets[k] = make([]uint64, words)
		}
	}
	for i := range c.Nodes {
		if c.Nodes[i].Up {
			c.setBucket(i, true)
		}
	}
}

// Alloc records that job holds gpus of node n at power cap capW. GPUs out
// of range or already held are skipped. Under an undo log it records each
// container's load once, not per GPU.
func (c *Cluster) Alloc(n int, gpus []int, job *model.Job, capW int, exclTenant bool) {
	c.saveNode(n)
	nd := &c.Nodes[n]
	if nd.Up {
		c.setBucket(n, false)
	}
	saved := false
	for _, g := range gpus {
		if g < 0 || g >= nd.NGPU || nd.Busy&(1<<g) != 0 {
			continue
		}
		nd.Busy |= 1 << g
		nd.Free--
		if nd.Pool >= 0 {
			c.Pools[nd.Pool].Free--
		}
		if c.anyDirty && c.dirty[nd.dirtyOff+g] != "" {
			c.dirty[nd.dirtyOff+g] = ""
			nd.Dirty--
		}
		if nd.Model >= 0 && !nd.Nameplate {
			if !saved {
				c.saveLoads(nd)
				saved = true
			}
			// one GPU at a time, as the loads' sums always were
			c.addLoadSaved(nd, c.GPUWatts(nd.Model, capW)-float64(c.Models[nd.Model].IdleWatts))
		}
	}
	nd.FreeCPU -= job.CPUsPerReplica
	nd.FreeMem -= job.MemGiBPerReplica
	switch {
	case nd.Jobs == 0:
		nd.Owner = job.Tenant
	case nd.Owner != job.Tenant:
		nd.Mixed = true
	}
	nd.Jobs++
	nd.ExclTen = nd.ExclTen || exclTenant
	nd.ExclJob = nd.ExclJob || job.ExclusiveNode
	if nd.Up {
		c.setBucket(n, true)
	}
}

// Release returns gpus of node n held by job at cap capW. The GPUs stay
// clean: the core releases only in what-if searches, where the same
// tenant's work is the one being evicted. A GPU down (Node.GPUsDown)
// goes to nobody (GPUDown): its release frees no room.
//
// Under an undo log it records the node without its GPUs' restrictions,
// which it leaves alone unless a GPU released is down, and each
// container's load once, not per GPU.
func (c *Cluster) Release(n int, gpus []int, job *model.Job, capW int) {
	nd := &c.Nodes[n]
	if nd.GPUsDown == 0 {
		c.saveNodeOnly(n)
	} else {
		c.saveNode(n)
	}
	if nd.Up {
		c.setBucket(n, false)
	}
	nd.Stranded = false
	saved := false
	for _, g := range gpus {
		if g < 0 || g >= nd.NGPU || nd.Busy&(1<<g) == 0 {
			continue
		}
		nd.Busy &^= 1 << g
		nd.Free++
		if nd.Pool >= 0 {
			c.Pools[nd.Pool].Free++
		}
		if nd.GPUsDown&(1<<g) != 0 && c.dirty[nd.dirtyOff+g] == "" {
			c.dirty[nd.dirtyOff+g] = GPUDown
			nd.Dirty++
		}
		if nd.Model >= 0 && !nd.Nameplate {
			if !saved {
				c.saveLoads(nd)
				saved = true
			}
			// one GPU at a time, as the loads' sums always were
			c.addLoadSaved(nd, float64(c.Models[nd.Model].IdleWatts)-c.GPUWatts(nd.Model, capW))
		}
	}
	nd.FreeCPU += job.CPUsPerReplica
	nd.FreeMem += job.MemGiBPerReplica
	nd.Jobs--
	if nd.Jobs <= 0 {
		nd.Jobs, nd.Owner, nd.Mixed, nd.ExclTen, nd.ExclJob = 0, "", false, false, false
	}
	if nd.Up {
		c.setBucket(n, true)
	}
	if saved && len(c.stranded) > 0 {
		c.unstrandNear(nd)
	}
}

// unstrandNear puts back in the buckets the stranded nodes that share a
// site, hall or rack with nd, whose release just gave that container
// power back (every stranded node when nd is nil: a look ahead in time):
// left out, single replicas would not see them (a preemption search
// found no room on a node whose rack its victims' eviction powered, and
// evicted more, or nobody). Under the undo log; the list keeps the
// nodes still stranded (Rollback lists again those it strands again).
func (c *Cluster) unstrandNear(nd *Node) {
	kept := c.stranded[:0]
	for _, i := range c.stranded {
		m := &c.Nodes[i]
		if !m.Stranded {
			continue
		}
		if nd != nil && !(m.Site >= 0 && m.Site == nd.Site || m.Hall >= 0 && m.Hall == nd.Hall || m.Rack >= 0 && m.Rack == nd.Rack) {
			kept = append(kept, i)
			continue
		}
		c.saveNodeOnly(int(i))
		m.Stranded = false
		if m.Up {
			c.setBucket(int(i), true)
		}
	}
	c.stranded = kept
}

// buildGroups counts nodes per group and finds which levels nest.
func (c *Cluster) buildGroups() {
	for l := range c.GroupSize {
		c.GroupSize[l] = make([]int, len(c.GroupNames[l]))
	}
	for i := range c.Nodes {
		for l := range c.GroupSize {
			c.GroupSize[l][c.Nodes[i].Group[l]]++
		}
	}
	for a := 0; a < NumLevels; a++ {
		for b := 0; b < NumLevels; b++ {
			parent := make([]int32, len(c.GroupNames[a]))
			for i := range parent {
				parent[i] = -1
			}
			nested := true
			for i := range c.Nodes {
				ga, gb := c.Nodes[i].Group[a], c.Nodes[i].Group[b]
				if parent[ga] < 0 {
					parent[ga] = gb
				} else if parent[ga] != gb {
					nested = false
					break
				}
			}
			c.Nested[a][b] = nested
		}
	}
}

// Retally recomputes node n's holders (count, owner, mixed tenants,
// exclusivity) from the jobs holding it, one entry per placement, in the
// order a fresh build would allocate them. Release cannot know whether
// the jobs left on a node are of one tenant; a driver that keeps a
// cluster between passes calls Retally after releasing on a shared node.
func (c *Cluster) Retally(n int, jobs []*model.Job, exclTenant func(tenant string) bool) {
	c.saveNode(n)
	nd := &c.Nodes[n]
	if nd.Up {
		c.setBucket(n, false)
	}
	nd.Jobs, nd.Owner, nd.Mixed, nd.ExclTen, nd.ExclJob = 0, "", false, false, false
	for _, j := range jobs {
		switch {
		case nd.Jobs == 0:
			nd.Owner = j.Tenant
		case nd.Owner != j.Tenant:
			nd.Mixed = true
		}
		nd.Jobs++
		nd.ExclTen = nd.ExclTen || exclTenant(j.Tenant)
		nd.ExclJob = nd.ExclJob || j.ExclusiveNode
	}
	if nd.Up {
		c.setBucket(n, true)
	}
}

// Restrict marks free GPU g of node n dirty as its state gs says, as a
// fresh build does: a driver that releases GPUs of a kept cluster calls
// it for the released GPUs, since Release leaves them clean. Claims are
// not considered (a kept cluster with claims is rebuilt instead).
func (c *Cluster) Restrict(n, g int, gs model.GPUState) {
	nd := &c.Nodes[n]
	owner := restriction(gs, nil)
	if owner == "" || g < 0 || g >= nd.NGPU || nd.Busy&(1<<g) != 0 || c.dirtyOwner(nd, g) != "" {
		return
	}
	c.saveNode(n)
	c.setBucket(n, false)
	c.markDirty(nd, g, owner)
	nd.Dirty++
	if nd.Up {
		c.setBucket(n, true)
	}
}

// SetState makes node n's GPU restrictions (dirty, claimed) those a
// fresh build from a node state with these GPU states would give; the
// node's condition is left as it is. A driver that keeps a cluster
// between passes calls it for the nodes whose GPU states changed, and for
// those with claims (whether a claim counts depends on claimant). It is
// not for what-if searches: claims are not undone by Rollback.
func (c *Cluster) SetState(n int, gpus []model.GPUState, claimant func(string) (string, bool)) {
	nd := &c.Nodes[n]
	c.saveNode(n)
	// a node's GPUs mostly share one state: work it out once per run
	var prev model.GPUState
	owner, claim, known := "", "", false
	for g := 0; g < nd.NGPU; g++ {
		var gs model.GPUState
		if g < len(gpus) {
			gs = gpus[g]
		}
		if !known || gs != prev {
			prev, known = gs, true
			owner, claim = restriction(gs, claimant), ""
			if owner != "" && gs.ClaimedBy != "" && claimant != nil {
				if _, pending := claimant(gs.ClaimedBy); pending {
					claim = gs.ClaimedBy
				}
			}
		}
		if c.ClaimOf(n, g) != claim {
			c.markClaim(nd, g, claim)
		}
		if gs.Down != (nd.GPUsDown&(1<<g) != 0) {
			c.noteDown(nd, g, gs.Down)
		}
		if nd.Busy&(1<<g) != 0 {
			continue // held: a build marks it, then the allocation clears it
		}
		switch cur := c.dirtyOwner(nd, g); {
		case cur == owner:
		case owner == "":
			c.dirty[nd.dirtyOff+g] = ""
			nd.Dirty--
		case cur == "":
			c.markDirty(nd, g, owner)
			nd.Dirty++
		default:
			c.dirty[nd.dirtyOff+g] = owner
		}
	}
}

// ReleaseClaim makes the free GPUs claimed with key (ClaimKey of a job
// that has now started) on the given nodes (those whose GPU states name
// the job) usable by anyone, under the undo log; it returns how many it
// freed.
func (c *Cluster) ReleaseClaim(key string, nodes []int) int {
	if !c.anyDirty {
		return 0
	}
	freed := 0
	for _, n := range nodes {
		if n >= 0 && n < len(c.Nodes) {
			freed += c.releaseClaim(n, key)
		}
	}
	return freed
}

func (c *Cluster) releaseClaim(n int, key string) int {
	nd := &c.Nodes[n]
	if nd.Dirty == 0 {
		return 0
	}
	freed := 0
	for g := 0; g < nd.NGPU; g++ {
		if nd.Busy&(1<<g) != 0 || c.dirty[nd.dirtyOff+g] != key {
			continue
		}
		if freed == 0 { // the node is saved once, before its first change
			c.saveNode(n)
			if nd.Up {
				c.setBucket(n, false)
			}
		}
		c.dirty[nd.dirtyOff+g] = ""
		nd.Dirty--
		freed++
	}
	if freed > 0 && nd.Up {
		c.setBucket(n, true)
	}
	return freed
}

// gpuSlots is the length of the per-GPU arrays: every node's GPUs.
func (c *Cluster) gpuSlots() int {
	if len(c.Nodes) == 0 {
		return 0
	}
	last := &c.Nodes[len(c.Nodes)-1]
	return last.dirtyOff + last.NGPU
}
