package sched

import (
	"strconv"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/place"
	"github.com/carnot-dc/carnot/internal/sched/quota"
)

// pass holds the working state of one Schedule call. Nothing in it
// outlives the call.
type pass struct {
	snap    *model.Snapshot
	fac     *model.Facility
	pol     model.Policy
	now     model.Time
	stretch *stretch // latest starts at the lowest caps (capspeed.go)
	c       *place.Cluster
	q       *quota.Tree
	tenants map[string]*model.Tenant
	classes map[string]*model.PriorityClass
	fs      *fairShares // fair-share usage per weight, in GPUs
	plan    model.Plan

	running      func(id string) *model.Allocation // by job ID; nil if not running
	deployed     map[string]int                    // running replicas of pending deployments
	claimDirty   map[string]int                    // GPUs freed for a job, still dirty
	claimed      map[string][]int                  // jobs some GPU is claimed for: the nodes of those GPUs
	waitingFor   map[string][]*model.Allocation
	victims      map[string]bool // chosen in this pass
	partLeaving  map[string]int  // deployments' replicas leaving (leavingReplicas), built on first use
	recentPreem  int
	preemptTries int

	siteSets      map[siteKey]*siteSet
	attBuf        []attempt      // reused by tryModels
	elseBuf       []bool         // elsewhere's site masks, reused
	poolIn        []bool         // reused by firstEnoughGPUs
	hideBuf       []int          // reused by poweredGang: the nodes it hides
	hiddenMark    []bool         // by node: hidden by poweredGang (cleared after)
	partNeed      []bool         // reused by neededParts
	repRoom       map[string]int // reused by helpfulReplicas
	spareUses     powerUses      // see takeUses
	repRanks      []repRank      // reused by helpfulReplicas
	quick         bool           // a Quick pass with a depth
	lastTenant    string         // one-entry lookup caches for the walk
	lastTenantIdx int
	lastModel     string
	lastModelIdx  int
	lastClass     string // and for priority
	lastPrio      int
	lastClassOK   bool
	maskIDs       map[string]int
	allModels     []int
	cpuFirst      []int // for replicas without GPUs: GPU-less nodes first
	oneModel      []int
	sensitive     bool // placement answers depend on the tenant
	curSites      int  // site-set id of the job being considered
	lastSites     lastSites
	memo          map[memoClass][]failure
	exact         map[exactKey]verdict
	poolOf        []bool // model index → some pool has it
	quotaMsgs     map[quotaMsgKey]string

	res      *reservation
	holds    []hold
	held     []heldForJob // room held for jobs waiting for their victims
	bookings []booking    // the GPUs of the jobs the pass deferred (herd.go)
	herd     *herdIndex   // their counts by start, made on first use
	// leaving: the pass's victims with no release (no runtime limit), at
	// Forever: they leave at their eviction, and herd counts their GPUs
	// back when their beneficiary is done (victimBack)
	leaving        []release
	heldQuota      []quotaHold // and their quota
	minVictimPrio  []int       // per model: lowest priority of a possible victim
	byModel        [][]vref    // per model: possible victims
	victimsIndexed bool        // vIdx and vMin are this pass's
	vIdx           [][]vref    // per model: possible victims, byModel or kept's
	vMin           []int       // per model: lowest priority in vIdx
	vLive          []int       // per model: entries of vIdx less holes (nil: all are)
	kept           *base       // the Queue's view, whose kept index and releases serve
	relShared      bool        // releases is kept's list, not to be written
	relOwn         []release
	preemptScans   int
	matched        []*vref             // reused by matchVictims
	partOnly       []*model.Allocation // matchVictims: deployments the ratio lets give up replicas only
	removed        []tenantGPUs        // reused by eligible
	bounds         []int               // release indices that end an instant
	estimates      int
	strictBlock    map[int]string // pool → blocking job when backfill is off
	strictMemo     map[strictKey]strictAnswer
	shareMemo      map[strictKey]strictAnswer // shareCheck's; nil until used
	releases       []release                  // lazily built
	scratch        *backfillScratch
	relBuilt       bool
	relSortedN     int // releases[:relSortedN] are sorted
	boundsStale    bool
	startJobs      []*model.Job    // parallel to plan.Starts
	scaledUp       map[string]bool // running deployments this pass starts replicas of; nil when none
	parked         []*model.Job    // found hopeless (pass.hopeless): for Quick to park
	// inFirst: the job considered is served before every level as a
	// beneficiary; retry: it found it can neither start nor wait for
	// its preemption, so it goes back to its own turn (see run).
	inFirst, retry bool
	prep           *prepared
	tally          *tally   // what running work holds, and where
	lending        *lending // loans taken back before planning (recap.go)

	// nominalOnly: the job considered is in the first round of its
	// level, where starts stay within nominal quota
	nominalOnly bool
	// borrowLater: the job considered did not start in the first round,
	// where it may not borrow, but may where it would (tryModels)
	borrowLater bool

	// quota in flight (inflight.go), once flightRead: by tenant in q ×
	// model, GPUs promised to a tenant less those leaving it (nil when
	// none are), in flightBuf's memory; flightGPUs is promiseModel's
	flight, flightBuf []int64
	flightRead        bool
	flightGPUs        []modelGPUs
	src               *Queue // the queue run walks; nil before it
}

// verdict is why a job did not start: a reason code and a message.
type verdict struct {
	code model.ReasonCode
	msg  string
	// placement failure that a reservation or preemption could cure
	capacity bool
	// render rewrites msg for another request of the same class.
	render func(r *place.Request) string
	// perJob: the message depends on more than the request's size.
	perJob bool
	// recheck, when set, decides the verdict anew for a request that
	// recalls it: a sovereignty verdict holds only while the sites it
	// names still have room for that request (elsewhere.go).
	recheck func(r *place.Request) verdict
	// beside: a capacity verdict whose GPUs are free in number but in
	// pieces, or short of CPUs or memory, or that asks for no GPUs
	// (shortage.go); a deployment's reason repeats it.
	beside bool
}

// prepared is what a pass takes from the facility alone, kept by a Queue
// between quick passes: the static cluster view and the quota and fair
// share trees with zero usage (each pass clones them).
type prepared struct {
	static *place.Static
	quota  *quota.Tree
	fs     *fairShares
	qbuf   *quota.Tree // the last pass's tree, reused by the next
	// shares: per site, the even share of its envelope per GPU above
	// idle (Policy.PowerShare); barred: per model, the sites where that
	// share is below every cap (nil: none); facility-only, so computed once
	shares []float64
	barred [][]bool
	// tenants and classes by name, facility-only
	tenants map[string]*model.Tenant
	classes map[string]*model.PriorityClass
	// quotaMsgs keeps quota messages by what they say (see quotaMessage)
	quotaMsgs map[quotaMsgKey]string
	// capBelowIdle: a busy GPU of some model may draw less than an idle
	// one (capped below idle, or a TDP below idle: files reject both)
	capBelowIdle bool
	// stretch: how much slower capped jobs may run (capspeed.go)
	stretch *stretch
	// usage: the order the last snapshot's usage list is charged in
	// (see usageOrder)
	usage usageOrder
	// parts: the facility's nodes grouped by shared power containers
	parts *powerParts
	// room: roomUnderHolds' scratch, sized to the facility
	room *roomScratch
	// last is the previous pass, done with: the next one clears and
	// reuses its maps and fair-share cells instead of allocating them
	last *pass
	// charged: quota with the running work's GPUs charged as of the last
	// pass, chargedGPUs what they were by tree node × model, and cur the
	// same for this pass; chargedBy is the changes of the tally they
	// follow (see chargedQuota)
	charged          *quota.Tree
	chargedGPUs, cur []int64
	chargedBy        *changedOrds
	// hints: where each estimate of the last pass first found room
	hints hints
	// memos: the reservations' estimates kept between passes (estmemo.go)
	memos estMemos
	// finds: gangs' placements kept between passes (findmemo.go)
	finds findMemos
	// elsewhere: where blocked jobs would fit but for sovereignty, kept
	// between passes (elsewhere.go)
	elsewhere elseMemos
	// notBefore: the not-before reasons of the last pass, by job
	notBefore perJob[notBefore]
	// pending: how many pending entries the last pass's plan had
	pending int
	// siteSets and maskIDs: the allowed sites of each tenant, data class
	// and job jurisdictions, and the names of site masks, which the
	// facility decides; kept from pass to pass (emptied between passes
	// when large, never during one: a mask's name must not change while
	// a pass's memos use it)
	siteSets map[siteKey]*siteSet
	maskIDs  map[string]int
	// lists: the cluster's model lists, which the facility decides
	lists *modelLists
}

// modelLists are the model lists of a prepared facility's cluster view:
// its model names, the GPU models (all but the CPU model), the order
// for replicas without GPUs (GPU-less nodes first) and, by model,
// whether some pool has it. Passes read them and never change them.
type modelLists struct {
	names     []string
	allModels []int
	cpuFirst  []int
	poolOf    []bool
}

// listsOf makes c's model lists.
func listsOf(c *place.Cluster) *modelLists {
	l := &modelLists{names: make([]string, len(c.Models)), poolOf: make([]bool, len(c.Models))}
	for i, m := range c.Models {
		l.names[i] = m.Name
		if i != c.CPUModel {
			l.allModels = append(l.allModels, i)
		}
	}
	// replicas without GPUs try GPU-less nodes first, keeping GPU nodes
	// for GPU work, then any GPU node
	l.cpuFirst = append([]int{c.CPUModel}, l.allModels...)
	for i := range c.Pools {
		l.poolOf[c.Pools[i].Model] = true
	}
	return l
}

// maxKeptSiteSets bounds the site sets and mask names kept between
// passes.
const maxKeptSiteSets = 4096

// notBefore is a job's not-before reason and the earliest start it
// names.
type notBefore struct {
	at  model.Time
	msg string
}

// chargedQuota is the facility's quota tree with the GPUs running work
// holds (tally t) charged. It is kept between passes and brought up to
// date by what changed for each tenant and model: the tree's usage is
// exact integers and depends only on what each tenant ends with (a
// cohort's usage is what its members use beyond what they keep for
// themselves), not on the order of additions, so this is the tree the
// additions from nothing would give.
//
// A kept view's tally lives from pass to pass and lists the tenants whose
// GPUs changed since the last pass read it: only theirs are compared.
func (prep *prepared) chargedQuota(t *tally, fac *model.Facility) *quota.Tree {
	n := prep.quota.Len() * t.models
	if prep.charged == nil || len(prep.chargedGPUs) != n {
		prep.charged = prep.quota.Clone()
		prep.chargedGPUs, prep.cur = make([]int64, n), make([]int64, n)
		prep.chargedBy = nil
	}
	defer t.changed.reset()
	if prep.chargedBy == t.changed {
		tree := t.ords.treeIndex(prep.charged, fac)
		for _, o := range t.changed.list {
			ti := tree[o]
			if ti < 0 {
				continue
			}
			for m, g := range t.gpus[o*t.models : (o+1)*t.models] {
				k := ti*t.models + m
				if d := int64(g) - prep.chargedGPUs[k]; d != 0 {
					prep.charged.Add(ti, m, d)
					prep.chargedGPUs[k] = int64(g)
				}
			}
		}
		return prep.charged
	}
	prep.chargedBy = t.changed
	cur := prep.cur
	clear(cur)
	for o, ti := range t.ords.treeIndex(prep.charged, fac) {
		if ti < 0 {
			continue
		}
		for m, g := range t.gpus[o*t.models : (o+1)*t.models] {
			cur[ti*t.models+m] += int64(g)
		}
	}
	for k, g := range cur {
		if d := g - prep.chargedGPUs[k]; d != 0 {
			prep.charged.Add(k/t.models, k%t.models, d)
		}
	}
	prep.chargedGPUs, prep.cur = cur, prep.chargedGPUs
	return prep.charged
}

// reuse returns m emptied, or a new map when there is none or m grew
// large (clearing costs what a map once held).
func reuse[K comparable, V any](m map[K]V) map[K]V {
	if m == nil || len(m) > 256 {
		return map[K]V{}
	}
	clear(m)
	return m
}

// newPass sets up a pass over snap. c is the cluster view of snap to
// plan on (the pass changes it); nil builds one from prep. t tallies the
// running work (nil: from snap). prep nil prepares afresh.
func newPass(snap *model.Snapshot, now model.Time, prep *prepared, c *place.Cluster, t *tally, pendingTenant func(string) (string, bool)) *pass {
	fac := snap.Facility
	if prep == nil || prep.static == nil || prep.static.Facility() != fac {
		prep = &prepared{static: place.Prepare(fac)}
	}
	if prep.fs == nil {
		prep.fs = newFairShares(fac)
	}
	if prep.stretch == nil {
		prep.stretch = newStretch(fac)
	}
	if prep.tenants == nil {
		for _, gm := range fac.GPUModels { // a GPU capped below idle (or a TDP below it) draws less busy than idle
			prep.capBelowIdle = prep.capBelowIdle || gm.CanCap() && gm.MinCapWatts < gm.IdleWatts || gm.TDPWatts < gm.IdleWatts
		}
		prep.tenants = make(map[string]*model.Tenant, len(fac.Tenants))
		for i := range fac.Tenants {
			t := &fac.Tenants[i]
			prep.tenants[t.Name] = t
		}
		prep.classes = make(map[string]*model.PriorityClass, len(fac.PriorityClasses))
		for i := range fac.PriorityClasses {
			prep.classes[fac.PriorityClasses[i].Name] = &fac.PriorityClasses[i]
		}
	}
	if prep.quotaMsgs == nil {
		prep.quotaMsgs = map[quotaMsgKey]string{}
	}
	if prep.siteSets == nil || len(prep.siteSets) > maxKeptSiteSets || len(prep.maskIDs) > maxKeptSiteSets {
		prep.siteSets, prep.maskIDs = map[siteKey]*siteSet{}, map[string]int{}
	}
	last := prep.last
	if last == nil {
		last = &pass{}
	}
	prep.last = nil // the pass being set up takes its maps and memory
	prep.hints.turn()
	prep.memos.turn()
	prep.finds.turn()
	prep.elsewhere.turn()
	prep.notBefore.turn()
	p := last
	*p = pass{
		snap: snap, fac: fac, pol: fac.Policy, now: now,
		stretch:       prep.stretch,
		tenants:       prep.tenants,
		classes:       prep.classes,
		fs:            prep.fs.cloneInto(last.fs),
		deployed:      reuse(last.deployed),
		claimDirty:    reuse(last.claimDirty),
		claimed:       reuse(last.claimed),
		victims:       reuse(last.victims),
		siteSets:      prep.siteSets,
		maskIDs:       prep.maskIDs,
		memo:          reuse(last.memo),
		exact:         reuse(last.exact),
		quotaMsgs:     prep.quotaMsgs,
		attBuf:        last.attBuf[:0],
		elseBuf:       last.elseBuf,
		poolIn:        last.poolIn,
		hideBuf:       last.hideBuf,
		hiddenMark:    last.hiddenMark,
		partNeed:      last.partNeed,
		repRoom:       last.repRoom,
		spareUses:     last.spareUses,
		repRanks:      last.repRanks,
		byModel:       last.byModel,
		matched:       last.matched[:0],
		flightBuf:     last.flightBuf,
		flightGPUs:    last.flightGPUs,
		removed:       last.removed[:0],
		minVictimPrio: last.minVictimPrio,
		releases:      last.releases[:0],
		bounds:        last.bounds[:0],
		scratch:       last.scratch,
		held:          last.held[:0],
		heldQuota:     last.heldQuota[:0],
		strictMemo:    reuse(last.strictMemo),
	}
	if last.shareMemo != nil {
		p.shareMemo = reuse(last.shareMemo)
	}
	p.prep = prep
	p.plan.Now = now
	p.lastTenantIdx, p.lastModelIdx = -2, -2
	// a Quick pass's snapshot lists no pending jobs: the last pass's
	// count is the size to expect
	p.plan.Pending = make([]model.Pending, 0, max(len(snap.Pending), prep.pending))
	if c == nil {
		c = place.NewFrom(prep.static, snap, pendingTenant)
	}
	p.c = c
	if p.pol.Power && len(p.c.MinGPUWatts) != len(p.c.Models) {
		p.c.MinGPUWatts = make([]float64, len(p.c.Models))
		for i, gm := range p.c.Models {
			p.c.MinGPUWatts[i] = float64(max(0, p.leastWatts(gm)-gm.IdleWatts))
		}
	}
	if prep.lists == nil {
		prep.lists = listsOf(p.c) // the cluster view is of prep.static: its lists
	}
	if prep.quota == nil {
		prep.quota = quota.New(fac, prep.lists.names)
	}
	p.allModels, p.cpuFirst, p.poolOf = prep.lists.allModels, prep.lists.cpuFirst, prep.lists.poolOf
	p.oneModel = p.allModels
	// Free GPUs are dirty (or claimed) only where a node state says so,
	// so the listed nodes are the ones to look at, not every node.
	for i := 0; i < len(snap.Nodes) && p.c.MaybeDirty() && !p.sensitive; i++ {
		if n, ok := p.c.NodeIndex[snap.Nodes[i].Node]; ok {
			p.sensitive = p.c.Nodes[n].Dirty > 0
		}
	}
	if t == nil {
		tt := tallyOf(snap, p.c)
		t = &tt
	}
	p.running, p.waitingFor, p.tally = t.running, t.waitingFor, t
	// What running work holds, charged to quotas (exact integers: see
	// chargedQuota) and to fair shares once per tenant in facility order,
	// so that a full and a quick pass add the same floats in the same
	// order.
	p.q = prep.chargedQuota(t, fac).CloneInto(prep.qbuf) // the last pass's tree is done with
	prep.qbuf = p.q
	for i := range fac.Tenants {
		if g := t.byTenant[t.ords.canon[i]]; g != 0 {
			p.fs.chargePath(p.fs.pathAt[i], fac.Tenants[i].Name, float64(g))
		}
	}
	if t.claims != nil { // a kept view's, read when its node states changed
		t.claims.copyTo(p.claimed, p.claimDirty)
	} else {
		(&nodeClaims{nodes: p.claimed, dirty: p.claimDirty}).read(snap.Nodes, p.c.NodeIndex)
	}
	if halfLife := p.pol.FairShareHalfLife; halfLife > 0 {
		p.chargeUsage(snap.Usage, t.ords, halfLife)
	}
	if p.pol.PreemptionRateLimit > 0 {
		for _, t := range snap.RecentPreemptions {
			if t <= now && now.Sub(t) < p.pol.PreemptionWindow {
				p.recentPreem++
			}
		}
	}
	if !p.pol.Backfill {
		p.strictBlock = map[int]string{}
	}
	return p
}

// account adds (sign 1) or removes (sign -1) a job's placements from the
// quota tree and the tenant's fair-share usage.
func (p *pass) account(j *model.Job, reps []model.Placement, sign int) {
	ti := p.tenantIndex(j.Tenant)
	for _, r := range reps {
		n, ok := p.c.NodeIndex[r.Node]
		if !ok {
			continue
		}
		m := p.c.Nodes[n].Model
		if ti >= 0 && m >= 0 {
			p.q.Add(ti, m, int64(sign*len(r.GPUs)))
		}
		p.fs.charge(j.Tenant, float64(sign*len(r.GPUs)))
	}
}

func (p *pass) priority(j *model.Job) int {
	if j.PriorityClass != p.lastClass || !p.lastClassOK {
		p.lastClass, p.lastClassOK, p.lastPrio = j.PriorityClass, true, 0
		if c := p.classes[j.PriorityClass]; c != nil {
			p.lastPrio = c.Value
		}
	}
	return p.lastPrio
}

// siteSet is an allowed-site mask with its tags and a small id used in
// memo keys.
type siteSet struct {
	mask []bool // nil = every site
	tags []string
	id   int
	ok   bool
	room map[roomKey]int // neverFits' counts
}

// siteKey names what decides a job's allowed sites: its tenant, data
// class and jurisdictions (job: the one tag, or each tag after its
// length, so that no two lists share a name; n: how many).
type siteKey struct {
	tenant, job, class string
	n                  int
}

// sitesFor returns the sites a job may use (sovereignty); the answer is
// kept by siteKey from pass to pass (prepared.siteSets).
func (p *pass) sitesFor(t *model.Tenant, j *model.Job) *siteSet {
	// the walk meets runs of one tenant's jobs, which often share their
	// jurisdiction list: remember the last answer by identity
	last := &p.lastSites
	if last.set != nil && last.tenant == t && last.class == j.DataClass && sameStrings(last.jur, j.Jurisdictions) {
		return last.set
	}
	s := p.sitesForKey(t, j)
	*last = lastSites{tenant: t, class: j.DataClass, jur: j.Jurisdictions, set: s}
	return s
}

// lastSites is sitesFor's one-entry cache.
type lastSites struct {
	tenant *model.Tenant
	class  string
	jur    []string
	set    *siteSet
}

// sameStrings reports whether a and b are the same slice (and so have
// the same content).
func sameStrings(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

func (p *pass) sitesForKey(t *model.Tenant, j *model.Job) *siteSet {
	key := siteKey{tenant: t.Name, class: j.DataClass, n: len(j.Jurisdictions)}
	switch len(j.Jurisdictions) {
	case 0:
	case 1:
		key.job = j.Jurisdictions[0]
	default:
		var b strings.Builder
		for _, tag := range j.Jurisdictions {
			b.WriteString(strconv.Itoa(len(tag)))
			b.WriteByte(':')
			b.WriteString(tag)
		}
		key.job = b.String()
	}
	if s, ok := p.siteSets[key]; ok {
		return s
	}
	s := &siteSet{ok: true}
	class := p.fac.DataClasses[j.DataClass]
	if len(t.Jurisdictions) > 0 || len(j.Jurisdictions) > 0 || len(class) > 0 {
		jobTags := j.Jurisdictions
		if len(jobTags) == 0 {
			jobTags = class
		}
		s.tags = describeTags(t.Jurisdictions, jobTags)
		s.mask = make([]bool, len(p.fac.Sites))
		s.ok = false
		for i := range p.fac.Sites {
			s.mask[i] = siteAllowed(&p.fac.Sites[i], t.Jurisdictions, j.Jurisdictions, class)
			s.ok = s.ok || s.mask[i]
		}
		s.id = p.maskID(s.mask)
	}
	p.siteSets[key] = s
	return s
}

// maskID names a site mask with a small integer (0 = every site).
func (p *pass) maskID(mask []bool) int {
	if mask == nil {
		return 0
	}
	var b strings.Builder
	for _, ok := range mask {
		if ok {
			b.WriteByte('1')
		} else {
			b.WriteByte('0')
		}
	}
	id, ok := p.maskIDs[b.String()]
	if !ok {
		id = len(p.maskIDs) + 1
		p.maskIDs[b.String()] = id
	}
	return id
}

// modelsFor lists the model indices a job accepts, in its order of
// preference (catalog order when it names none).
func (p *pass) modelsFor(j *model.Job) []int {
	if j.GPUsPerReplica == 0 && len(j.GPUModels) == 0 {
		return p.cpuFirst
	}
	if len(j.GPUModels) == 0 {
		return p.allModels
	}
	if len(j.GPUModels) == 1 {
		name := j.GPUModels[0]
		if name != p.lastModel || p.lastModelIdx < -1 {
			p.lastModel, p.lastModelIdx = name, -1
			if i, ok := p.c.ModelIndex[name]; ok {
				p.lastModelIdx = i
			}
		}
		if i := p.lastModelIdx; i >= 0 {
			return p.oneModel[i : i+1]
		}
		return nil
	}
	out := make([]int, 0, len(j.GPUModels))
	for _, name := range j.GPUModels {
		if i, ok := p.c.ModelIndex[name]; ok {
			out = append(out, i)
		}
	}
	return out
}

func (p *pass) modelName(m int) string { return p.c.Models[m].Name }

func (p *pass) pending(j *model.Job, v verdict, est model.Time) {
	p.plan.Pending = append(p.plan.Pending, model.Pending{Job: j.ID, Code: v.code, Message: v.msg, EstStart: est})
}

// finish returns the plan. Starts, deferrals and pending entries are in
// the order the pass considered their jobs, which depends only on the
// snapshot's content, never on its slice order: a canonical order that
// also tells a user where a job stands in the queue.
func (p *pass) finish() model.Plan { return p.plan }
