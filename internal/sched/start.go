package sched

import (
	"fmt"
	"math"
	"slices"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/place"
)

// memoClass groups placement questions that differ only in size.
// Free capacity and power headroom only shrink during a pass, and a
// request that is larger in every size dimension is harder to place, so
// a question fails if a no-larger one of its class failed before; its
// verdict is reused, re-rendered for the new size, or decided anew
// (verdict.recheck) when its reason is not about the request's own sites.
type memoClass struct {
	tenant      string // set only when the answer depends on the tenant
	claim       string // the job's claim key, when GPUs are claimed for it
	model       int
	sites       int
	level       int
	required    bool
	sameNode    bool
	exclusive   bool
	constrained bool
	// job is set when the request avoids nodes (place.Request.Avoid):
	// its answers are its own
	job *model.Job
}

type failure struct {
	replicas, gpus, cpus, mem int
	v                         verdict
}

// maxFailures bounds the failures kept per class.
const maxFailures = 32

func (p *pass) class(r *place.Request) memoClass {
	k := memoClass{model: r.Model, sites: r.SitesID, level: r.Level, required: r.Required, sameNode: r.SameNode,
		exclusive: r.ExclusiveNode, constrained: r.Constrained}
	if r.TenantExcl || p.sensitive {
		k.tenant, k.claim = r.Tenant, r.Claim
	}
	if len(r.Avoid) > 0 {
		k.job = r.Job
	}
	return k
}

// exactKey is a memo class and one size.
type exactKey struct {
	memoClass
	replicas, gpus, cpus, mem int
}

// recall returns the verdict of a failed no-larger question, if any.
func (p *pass) recall(r *place.Request) (verdict, bool) {
	cls := p.class(r)
	ek := exactKey{cls, r.Replicas, r.GPUs, r.CPUs, r.Mem}
	if v, ok := p.exact[ek]; ok {
		if v.recheck != nil {
			return v.recheck(r), true
		}
		if v.perJob {
			v.msg = v.render(r)
		}
		return v, true
	}
	for _, f := range p.memo[cls] {
		if f.replicas <= r.Replicas && f.gpus <= r.GPUs && f.cpus <= r.CPUs && f.mem <= r.Mem {
			v := f.v
			if v.recheck != nil {
				p.exact[ek] = v
				return v.recheck(r), true
			}
			if v.render != nil && (v.perJob || f.replicas != r.Replicas || f.gpus != r.GPUs || f.cpus != r.CPUs || f.mem != r.Mem) {
				v.msg = v.render(r)
			}
			p.exact[ek] = v
			return v, true
		}
	}
	return verdict{}, false
}

// remember records a failed question, dropping the ones it dominates.
func (p *pass) remember(r *place.Request, v verdict) {
	k := p.class(r)
	list := p.memo[k][:0:0]
	for _, f := range p.memo[k] {
		if !(r.Replicas <= f.replicas && r.GPUs <= f.gpus && r.CPUs <= f.cpus && r.Mem <= f.mem) {
			list = append(list, f)
		}
	}
	list = append(list, failure{r.Replicas, r.GPUs, r.CPUs, r.Mem, v})
	if len(list) > maxFailures {
		list = list[len(list)-maxFailures:]
	}
	p.memo[k] = list
}

// request builds the placement request of job j on model m.
func (p *pass) request(t *model.Tenant, j *model.Job, m int, sites []bool) place.Request {
	r := place.Request{
		Tenant: j.Tenant, TenantExcl: t.Exclusive == model.ExclusiveNode, ExclusiveNode: j.ExclusiveNode,
		Job: j, Model: m, Sites: sites, SitesID: p.curSites, Replicas: j.Replicas, GPUs: j.GPUsPerReplica,
		CPUs: j.CPUsPerReplica, Mem: j.MemGiBPerReplica, Level: place.NumLevels,
	}
	if p.isClaimed(j.ID) {
		r.Claim = place.ClaimKey(j.ID)
	}
	r.Avoid = p.avoided(j.ID)
	if j.Kind == model.KindDeployment {
		r.Replicas = 1
	}
	if p.pol.Topology {
		for i, l := range place.Levels {
			if l == j.Topology.Level {
				r.Level, r.Required = i, j.Topology.Required
			}
		}
		if j.Topology.Level == model.LevelNode {
			r.Level, r.Required, r.SameNode = 0, false, j.Topology.Required && j.Kind != model.KindDeployment
		}
	} else if j.Topology.Level != model.LevelAny {
		// without topology-aware placement no level is required, but
		// only a gang of topology "any" may span sites
		r.Level = place.NumLevels - 1
	}
	if p.pol.Power {
		gm := p.c.Models[m]
		r.MinWattsPerReplica = float64(j.GPUsPerReplica * max(0, p.leastWatts(gm)-gm.IdleWatts))
	}
	if p.res != nil {
		r.Constrained = j.RuntimeLimit <= 0 || p.now.Add(j.RuntimeLimit) > p.res.start
	}
	return r
}

// place finds room for j on attempt a's model, checks power, and starts
// the job. On failure a.v says why.
func (p *pass) place(j *model.Job, a *attempt, tags []string) bool {
	if j.Kind == model.KindDeployment {
		return p.placeDeployment(j, a, tags)
	}
	if v, ok := p.recall(&a.req); ok {
		a.v = v
		return false
	}
	res := p.find(&a.req)
	if !res.OK() {
		a.v = p.placementVerdict(j, &a.req, &res, tags)
		p.remember(&a.req, a.v)
		return false
	}
	res, capW, v, ok := p.poweredGang(&a.req, res, a.req.Constrained)
	if !ok {
		a.v = v
		p.remember(&a.req, v)
		return false
	}
	p.commit(j, a, res.Slots, capW)
	return true
}

// poweredGang checks the power of placement res for request r
// (powerFor). Find weighs each replica's power on its own node, not a
// gang's together: when a site, hall or rack of the group Find chose
// cannot power the replicas it put there, Find looks again without that
// container's nodes but for those of as many replicas as it can power
// (gangKeep; a what-if, rolled back), so that a group with the room and the power
// is not passed over, and so that whether a gang fits grows with what is
// free, as estimates assume. The verdict is the first placement's.
func (p *pass) poweredGang(r *place.Request, res place.Result, constrained bool) (place.Result, int, verdict, bool) {
	capW, v, ok := p.powerFor(r.Job, r.Model, res.Slots, constrained)
	if ok || r.Replicas < 2 || r.Job == nil || r.MinWattsPerReplica <= 0 {
		return res, capW, v, ok
	}
	// hidden is the nodes hidden so far, marked in p.hiddenMark (sized
	// to the nodes, kept between passes, cleared on the way out)
	hidden := p.hideBuf[:0]
	if len(p.hiddenMark) != len(p.c.Nodes) {
		p.hiddenMark = make([]bool, len(p.c.Nodes))
	}
	defer func() {
		for _, n := range hidden {
			p.hiddenMark[n] = false
		}
		p.hideBuf = hidden[:0]
	}()
	got := res
	for range maxGangRetries {
		pw := p.gangShort(got.Slots, constrained)
		if pw == nil {
			break
		}
		in := func(n int) bool {
			nd := &p.c.Nodes[n]
			return nd.Site >= 0 && &p.c.Sites[nd.Site] == pw || nd.Hall >= 0 && &p.c.Halls[nd.Hall] == pw ||
				nd.Rack >= 0 && &p.c.Racks[nd.Rack] == pw
		}
		// Look again with pw's nodes hidden but those each rule keeps,
		// the first rule that hides a node not hidden yet and leaves
		// room for the gang.
		k := int(pw.HeadroomFor(constrained) / r.MinWattsPerReplica)
		found := false
		for rule := range keepRules {
			keep := p.gangKeep(rule, r, got.Slots, in, k)
			more := hidden
			site := pw.Site()
			for pi := range p.c.Pools {
				if pool := &p.c.Pools[pi]; pool.Model == r.Model && (site < 0 || pool.Site == site) {
					for _, n := range pool.Nodes {
						if in(int(n)) && !keep[int(n)] && p.c.Nodes[n].Up && !p.hiddenMark[n] { // a node is in one pool
							more = append(more, int(n))
						}
					}
				}
			}
			if len(more) == len(hidden) {
				continue // nothing more to rule out
			}
			p.c.Begin()
			for _, n := range more {
				p.c.Hide(n)
			}
			try := p.c.Find(r)
			p.c.Rollback()
			if try.OK() {
				for _, n := range more[len(hidden):] {
					p.hiddenMark[n] = true
				}
				hidden, got, found = more, try, true
				break
			}
		}
		if !found {
			break
		}
		if w, _, ok := p.powerFor(r.Job, r.Model, got.Slots, constrained); ok {
			return got, w, verdict{}, true
		}
	}
	return res, 0, v, false
}

// keepRules is how many rules gangKeep knows.
const keepRules = 3

// gangKeep is the nodes, among those of a container that can power k
// more replicas of r (in tells them), that poweredGang keeps in its next
// look under rule:
//
//   - 0: the nodes that hold the first k replicas of the placement
//     slots; Find, which fills the nodes it keeps first, mostly puts no
//     more there than before;
//   - 1: the nodes of the placement whose room adds up to no more than k
//     replicas, the roomiest first (then in placement order): Find can
//     then put no more there. Under rule 0, the 3 replicas a hall powers
//     spanned both of its nodes, which took 4, and nothing more was
//     hidden (testdata/sched/power_gang_split_hall.txt);
//   - 2: none.
func (p *pass) gangKeep(rule int, r *place.Request, slots []place.Slot, in func(int) bool, k int) map[int]bool {
	keep := map[int]bool{}
	switch rule {
	case 0:
		for _, s := range slots {
			if in(s.Node) && k > 0 {
				keep[s.Node] = true
				k--
			}
		}
	case 1:
		var room []nodeRoom
		for _, s := range slots {
			if in(s.Node) && !slices.ContainsFunc(room, func(x nodeRoom) bool { return x.n == s.Node }) {
				room = append(room, nodeRoom{s.Node, p.c.Capacity(s.Node, r)})
			}
		}
		slices.SortStableFunc(room, func(a, b nodeRoom) int { return b.reps - a.reps })
		for _, x := range room {
			if x.reps <= k {
				keep[x.n] = true
				k -= x.reps
			}
		}
	}
	return keep
}

// nodeRoom is how many replicas of a request node n can take.
type nodeRoom struct{ n, reps int }

// maxGangRetries bounds poweredGang's looks elsewhere.
const maxGangRetries = 8

// gangShort is the container (site, hall or rack) that leaves the GPUs
// of slots the least power each, as powerFor finds it.
func (p *pass) gangShort(slots []place.Slot, constrained bool) *place.Power {
	uses := p.takeUses()
	defer func() { p.spareUses = uses }()
	for _, s := range slots {
		uses = uses.addNode(p.c, &p.c.Nodes[s.Node], len(s.GPUs), 0, constrained)
	}
	var worst *place.Power
	least := math.Inf(1)
	for _, u := range uses {
		if w := u.pw.HeadroomFor(constrained) / float64(u.gpus); w < least {
			least, worst = w, u.pw
		}
	}
	return worst
}

// placeDeployment places up to Replicas independent replicas, starting
// the deployment only if at least MinReplicas fit. In the first round of
// its level it places no more than its tenant's nominal quota holds (at
// least its minimum): started there, its replicas beyond that quota took
// borrowed quota ahead of other tenants' jobs within their own nominal
// quota, which then evicted the whole deployment by reclaim. The rest
// waits for a later pass, where the deployment, running, would borrow
// and so scales up in the second round. (Scaled on in this pass's second
// round, a Quick pass whose depth ends before it would decide the
// deployment otherwise than the full pass.)
func (p *pass) placeDeployment(j *model.Job, a *attempt, tags []string) bool {
	want, need := j.Replicas-p.deployed[j.ID], p.deployNeed(j)
	if ti := p.q.Tenant(j.Tenant); p.pol.Quotas && ti >= 0 && j.GPUsPerReplica > 0 {
		g := int64(j.GPUsPerReplica)
		want = min(want, int(p.availableFor(ti, a.model, a.req.Constrained, int64(want)*g)/g))
		if p.nominalOnly {
			want = min(want, max(need, int(p.nominalRoom(ti, a.model)/g)))
		}
		if p.mayNotBorrow(j) { // quotaCheck let its minimum in
			want = min(want, int(p.nominalRoom(ti, a.model)/g))
		}
	}
	if v, ok := p.recall(&a.req); ok && !p.holdsOwn(j, &a.req) {
		a.v = p.deploymentVerdict(j, a, need, 0, v)
		return false
	}
	slots, fail := p.deploySlots(j, a, want, 0, tags)
	if n := len(slots); n > 0 && n < need {
		if w := p.capFloor(a.model); w > 0 {
			// Taken at full power, the first replicas left too little
			// for the minimum; it may still fit capped, as a gang would
			// (and as the preemption search judges it: fitsWithout).
			slots, fail = p.deploySlots(j, a, need, w, tags)
		}
	}
	for ; len(slots) >= need; slots = slots[:len(slots)-1] {
		capW, v, ok := p.powerFor(j, a.model, slots, a.req.Constrained)
		if ok {
			p.commit(j, a, slots, capW)
			return true
		}
		fail = v
	}
	if want <= 0 {
		a.v = verdict{code: model.ReasonCapacity, msg: fmt.Sprintf(
			"capacity: deployment already runs %d of %d replicas", p.deployed[j.ID], j.Replicas)}
		return false
	}
	a.v = p.deploymentVerdict(j, a, need, len(slots), fail)
	return false
}

// deploySlots finds room for up to n replicas of deployment j, one at a
// time, each taken (within an undo scope) at capW watts per GPU (0: its
// TDP) so that the next one sees the power the others leave. fail says
// why the next replica did not fit, if one did not.
func (p *pass) deploySlots(j *model.Job, a *attempt, n, capW int, tags []string) ([]place.Slot, verdict) {
	var slots []place.Slot
	var fail verdict
	p.c.Begin()
	defer p.c.Rollback()
	for len(slots) < n {
		if s, ok := p.joinOwn(j, &a.req, slots); ok {
			p.c.Take(s.Node, s.GPUs, &a.req, capW)
			slots = append(slots, s)
			continue
		}
		res := p.c.Find(&a.req)
		if !res.OK() {
			fail = p.placementVerdict(j, &a.req, &res, tags)
			if len(slots) == 0 {
				p.remember(&a.req, fail)
			}
			break
		}
		p.c.Take(res.Slots[0].Node, res.Slots[0].GPUs, &a.req, capW)
		slots = append(slots, res.Slots[0])
	}
	return slots, fail
}

// holdsOwn reports whether r is an exclusive-node deployment j's and j
// runs: its next replica may join a node it holds, which no failure
// kept for requests like r (recall) has looked at.
func (p *pass) holdsOwn(j *model.Job, r *place.Request) bool {
	return r.ExclusiveNode && p.running(j.ID) != nil
}

// joinOwn finds room for one more replica of exclusive-node deployment
// j on a node it holds already, running or among slots (taken this
// pass): the lowest-numbered such node with room. Nobody else may join
// those nodes, so Find never offers them.
func (p *pass) joinOwn(j *model.Job, r *place.Request, slots []place.Slot) (place.Slot, bool) {
	if !r.ExclusiveNode {
		return place.Slot{}, false
	}
	best := place.Slot{Node: -1}
	try := func(n int) {
		if best.Node >= 0 && n >= best.Node {
			return
		}
		if gpus, ok := p.c.JoinOwn(n, r); ok {
			best = place.Slot{Node: n, GPUs: gpus}
		}
	}
	if a := p.running(j.ID); a != nil {
		for _, rep := range a.Replicas {
			if n, ok := p.c.NodeIndex[rep.Node]; ok {
				try(n)
			}
		}
	}
	for _, s := range slots {
		try(s.Node)
	}
	return best, best.Node >= 0
}

// capFloor is the lowest cap a start on model m may get, when power
// capping could make room (0 otherwise): what a replica's placement
// already counts as the least it draws (Request.MinWattsPerReplica).
func (p *pass) capFloor(m int) int {
	gm := p.c.Models[m]
	if w := p.leastWatts(gm); p.pol.Power && w < gm.TDPWatts {
		return w
	}
	return 0
}

// leastWatts is the least a GPU of model gm draws busy under the policy:
// its lowest cap when power capping may cap it, else its TDP.
func (p *pass) leastWatts(gm model.GPUModel) int {
	if p.pol.PowerCapping && gm.CanCap() {
		return gm.MinCapWatts
	}
	return gm.TDPWatts
}

// deploymentVerdict explains a deployment that could not place its
// minimum: fit replicas fit, and fail is why the next one did not.
func (p *pass) deploymentVerdict(j *model.Job, a *attempt, need, fit int, fail verdict) verdict {
	replica := fmt.Sprintf("%d %s", j.GPUsPerReplica, p.modelName(a.model))
	if j.GPUsPerReplica == 0 {
		replica = amounts(&a.req, j.CPUsPerReplica, j.MemGiBPerReplica)
	}
	msg := fmt.Sprintf("capacity: deployment needs %d more replica(s) of %s; %d fit", need, replica, fit)
	if fail.msg != "" && (fail.code != model.ReasonCapacity || fail.beside) {
		msg += " (" + fail.msg + ")"
	}
	code := fail.code
	if code == "" {
		code = model.ReasonCapacity
	}
	return verdict{code: code, capacity: fail.capacity, msg: msg}
}

// commit records a start and takes its resources.
func (p *pass) commit(j *model.Job, a *attempt, slots []place.Slot, capW int) {
	st := model.Start{Job: j.ID, Replicas: make([]model.Placement, len(slots))}
	gm := p.c.Models[a.model]
	end := model.Forever
	if j.RuntimeLimit > 0 {
		end = p.now.Add(j.RuntimeLimit)
	}
	for i, s := range slots {
		p.c.Take(s.Node, s.GPUs, &a.req, capW)
		if len(p.holds) > 0 {
			p.rehold(end, s.Node, s.GPUs)
		}
		nd := &p.c.Nodes[s.Node]
		st.Replicas[i] = model.Placement{Node: nd.Spec.Name, GPUs: s.GPUs, PowerCapW: capW}
		st.PowerW += float64(len(s.GPUs)) * (p.c.GPUWatts(a.model, capW) - float64(gm.IdleWatts))
	}
	st.PowerW = math.Round(st.PowerW)
	p.plan.Starts = append(p.plan.Starts, st)
	p.startJobs = append(p.startJobs, j)
	if p.running(j.ID) != nil { // a deployment's scale-up: no victim of this pass (matchVictims)
		if p.scaledUp == nil {
			p.scaledUp = map[string]bool{}
		}
		p.scaledUp[j.ID] = true
	}
	p.account(j, st.Replicas, 1)
	p.started(j, st.Replicas)
	if p.isClaimed(j.ID) {
		// What a preemption freed for j and j did not take is free for
		// the jobs after it.
		p.releaseClaim(j.ID)
	}
}

// isClaimed reports whether some GPU is claimed for job id.
func (p *pass) isClaimed(id string) bool {
	_, ok := p.claimed[id]
	return ok
}

// releaseClaim makes the GPUs claimed for job id usable by anyone. Free
// capacity grows on those nodes, so the failures the memo keeps for
// their GPU models, which assume it only shrinks, are forgotten; other
// models' questions never look at these nodes (and a claim holds no
// power), so theirs stand.
func (p *pass) releaseClaim(id string) {
	nodes := p.claimed[id]
	delete(p.claimed, id)
	if p.c.ReleaseClaim(place.ClaimKey(id), nodes) == 0 {
		return
	}
	var models []int // of the nodes the claim held: mostly one
	for _, n := range nodes {
		if m := p.c.Nodes[n].Model; !slices.Contains(models, m) {
			models = append(models, m)
		}
	}
	for k := range p.memo {
		if slices.Contains(models, k.model) {
			delete(p.memo, k)
		}
	}
	for k := range p.exact {
		if slices.Contains(models, k.model) {
			delete(p.exact, k)
		}
	}
}

// started keeps the pass's own starts for later reservations.
func (p *pass) started(j *model.Job, reps []model.Placement) {
	if p.relBuilt && j.RuntimeLimit > 0 {
		p.addRelease(j, reps, p.now.Add(j.RuntimeLimit), -1)
	}
}

// avoided is the sorted indices of the nodes job id may not be placed
// on (model.Snapshot.AvoidNodes), nil for none; names the facility does
// not have are left out.
func (p *pass) avoided(id string) []int32 {
	names := p.snap.AvoidNodes[id]
	if len(names) == 0 {
		return nil
	}
	out := make([]int32, 0, len(names))
	for _, name := range names {
		if n, ok := p.c.NodeIndex[name]; ok {
			out = append(out, int32(n))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
