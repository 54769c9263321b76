package plan

import (
	"fmt"
	"math"
	"slices"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/quota"
)

// Differential loads: the load of a site, hall or rack before a plan is
// its draw with every node up and idle (kept in the facTables; a down
// node counts so too), plus every GPU of an unreachable node at TDP above
// idle, plus what each other held GPU draws above idle; the
// plan's starts add what each GPU they take draws above idle. So a check
// visits the running placements and the starts once, and no node that
// nothing holds; the result is PowerW's (watts are whole numbers in
// practice, so the order of the additions does not matter). The plan's
// recaps then add, for each GPU a recapped placement is counted for,
// the difference between its new draw and its old (below 0 where a
// recap lowers a cap).

// containers are the loads of one kind of container (sites, halls or
// racks) that a check looks at, by index: before the plan and after it
// (its starts and recaps), and how much of after the recaps that raise
// caps add.
type containers struct {
	before, after, raised []float64
	first                 []string // the first job the plan starts on a GPU in it, "" if none
	recap                 []string // the first job the plan recaps a GPU of in it to more watts, "" if none
	marked                []int32  // the containers looked at
	in                    []bool
}

func (c *containers) reset(n int) {
	for _, i := range c.marked {
		c.in[i], c.first[i], c.recap[i] = false, "", ""
	}
	c.marked = c.marked[:0]
	if len(c.in) != n {
		c.before, c.after, c.raised = make([]float64, n), make([]float64, n), make([]float64, n)
		c.first, c.recap, c.in = make([]string, n), make([]string, n), make([]bool, n)
	}
}

// mark adds container i (if any), starting from its static draw, with
// job (unless "") as the first start in it.
func (c *containers) mark(i int32, static []float64, job string) {
	if c.look(i, static) && c.first[i] == "" {
		c.first[i] = job
	}
}

// markRecap adds container i (if any), with job as the first recap that
// raises a GPU's draw in it.
func (c *containers) markRecap(i int32, static []float64, job string) {
	if c.look(i, static) && c.recap[i] == "" {
		c.recap[i] = job
	}
}

// look adds container i (if any), starting from its static draw, and
// reports whether there is one.
func (c *containers) look(i int32, static []float64) bool {
	if i < 0 {
		return false
	}
	if !c.in[i] {
		c.in[i] = true
		c.marked = append(c.marked, i)
		c.before[i], c.after[i], c.raised[i] = static[i], static[i], 0
	}
	return true
}

// add adds w to container i's load before (and so after) the plan.
func (c *containers) add(i int32, w float64) {
	if i >= 0 && c.in[i] {
		c.before[i] += w
		c.after[i] += w
	}
}

// addAfter adds w to container i's load after the plan: what a start
// adds.
func (c *containers) addAfter(i int32, w float64) {
	if i >= 0 && c.in[i] {
		c.after[i] += w
	}
}

// addRecap adds d to container i's load after the plan: what a recap
// adds, or below 0 gives back.
func (c *containers) addRecap(i int32, d float64) {
	if i >= 0 && c.in[i] {
		c.after[i] += d
		if d > 0 {
			c.raised[i] += d
		}
	}
}

// loadScratch is the working memory of one load computation; a Checker
// shared between goroutines hands each call its own (facTables.scratch).
type loadScratch struct {
	held  []uint32 // per GPU: = gen when a running placement holds it
	taken []uint32 // per GPU: = gen when a start took it
	start []uint32 // per node: = gen when a start lands on it
	// unreach: per node, = gen when the node is unreachable (it counts at
	// nameplate, whatever holds its GPUs)
	unreach []uint32
	gen     uint32
	// runNode is the node index of each placement of the snapshot's
	// running allocations, in order (-1: unknown); see index.runNodes
	runNode []int32
	// nodes and refs: the nodes a plan starts on and the running
	// placements there (see occupancy)
	nodes []int32
	refs  []nodeRef
	site  containers
	hall  containers
	rack  containers
	// qtrees are the quota check's trees (snapshot, after the plan's
	// starts, running check), reused from check to check
	qtrees [3]*quota.Tree
	// the maps of a check (checkIndex, coverage), emptied for the next
	maps checkMaps
	// uses: the node uses of a check's starts, reused by the next
	uses nodeUses
}

// checkMaps are the lookups a check builds by job and node name.
type checkMaps struct {
	pending      map[string]*model.Job
	states       map[string]*model.NodeState
	starts, pend map[string]int
	started      map[string]bool
}

// reset empties the maps, or drops one that grew large: clearing costs
// what a map once held, at every check after.
func (m *checkMaps) reset() {
	m.pending = resetMap(m.pending)
	m.states = resetMap(m.states)
	m.starts = resetMap(m.starts)
	m.pend = resetMap(m.pend)
	m.started = resetMap(m.started)
}

func resetMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil || len(m) > 4096 {
		return map[K]V{}
	}
	clear(m)
	return m
}

func (t *facTables) getScratch() *loadScratch {
	sc, _ := t.scratch.Get().(*loadScratch)
	if sc == nil {
		sc = &loadScratch{held: make([]uint32, t.gpus), taken: make([]uint32, t.gpus),
			start: make([]uint32, len(t.base)), unreach: make([]uint32, len(t.base))}
	}
	if sc.gen++; sc.gen == 0 { // wrapped: forget every stamp
		clear(sc.held)
		clear(sc.taken)
		clear(sc.start)
		clear(sc.unreach)
		sc.gen = 1
	}
	sc.runNode = sc.runNode[:0]
	sc.site.reset(len(t.siteW))
	sc.hall.reset(len(t.hallW))
	sc.rack.reset(len(t.rackW))
	return sc
}

// markStarts marks the containers the plan's starts land in, with the
// first job that starts on a GPU in each (a replica without GPUs adds
// nothing to the loads, so it is at fault for none).
func (x *index) markStarts(t *facTables, sc *loadScratch, p *model.Plan) {
	for _, s := range p.Starts {
		for _, pl := range s.Replicas {
			if n := t.nodeOf(pl.Node); n >= 0 {
				job := s.Job
				if len(pl.GPUs) == 0 {
					job = ""
				}
				sc.site.mark(t.site[n], t.siteW, job)
				sc.hall.mark(t.hall[n], t.hallW, job)
				sc.rack.mark(t.rack[n], t.rackW, job)
			}
		}
	}
}

// fold computes the marked containers' loads before and after the plan.
// Only nodes of marked sites count, as halls and racks lie within one
// site. The running placements come from the Checker's kept loads when
// they stand for this computation, else each is folded in.
func (x *index) fold(t *facTables, sc *loadScratch, snap *model.Snapshot, p *model.Plan) {
	var recaps map[string]int
	if p != nil {
		recaps = recapCaps(p)
	}
	// An unreachable node counts at nameplate: its base and idle power
	// (in the tables) plus every GPU's TDP above idle, and nothing more
	// for what holds its GPUs. The kept loads count held GPUs, so they
	// are not used while one is in a marked site.
	unreach := false
	for i := range snap.Nodes {
		st := &snap.Nodes[i]
		if st.Condition != model.NodeUnreachable || x.states[st.Node] != st {
			continue // reachable, or not the entry that counts (as in condition)
		}
		n := t.nodeOf(st.Node)
		if n < 0 || t.site[n] < 0 || !sc.site.in[t.site[n]] || sc.unreach[n] == sc.gen {
			continue
		}
		sc.unreach[n] = sc.gen
		unreach = true
		w := float64(x.fac.Nodes[n].GPUs) * (t.tdp[n] - t.idle[n])
		sc.site.add(t.site[n], w)
		sc.hall.add(t.hall[n], w)
		sc.rack.add(t.rack[n], w)
	}
	var k *kept
	if kk := x.keptState(); kk != nil && kk.loadsOK() && !unreach && exactRecaps(recaps) {
		k = kk
		for _, i := range sc.site.marked {
			sc.site.add(i, float64(k.siteW[i]))
		}
		for _, i := range sc.hall.marked {
			sc.hall.add(i, float64(k.hallW[i]))
		}
		for _, i := range sc.rack.marked {
			sc.rack.add(i, float64(k.rackW[i]))
		}
		x.keptRecaps(t, sc, p, recaps)
	}
	nodes := x.fac.Nodes
	// hold folds in placements pls; with recapped, each GPU counted for
	// them draws rcap's watts after the plan.
	hold := func(pls []model.Placement, idx []int32, stamp []uint32, add func(c *containers, i int32, w float64), rcap int, recapped bool) {
		for r, pl := range pls {
			if len(pl.GPUs) == 0 {
				continue
			}
			n := -1
			if idx != nil {
				n = int(idx[r])
			} else {
				n = t.nodeOf(pl.Node)
			}
			if n < 0 || t.site[n] < 0 || !sc.site.in[t.site[n]] || sc.unreach[n] == sc.gen {
				continue
			}
			w := capW(pl.PowerCapW, t.tdp[n])
			d := 0.0
			if recapped {
				d = capW(rcap, t.tdp[n]) - w
			}
			w -= t.idle[n]
			at := int(t.gpuAt[n])
			for _, g := range pl.GPUs {
				// a GPU held twice (an invalid plan) counts once, the
				// running allocations first
				if g < 0 || g >= nodes[n].GPUs || sc.held[at+g] == sc.gen || sc.taken[at+g] == sc.gen ||
					(k != nil && k.held[at+g] > 0) {
					continue
				}
				stamp[at+g] = sc.gen
				add(&sc.site, t.site[n], w)
				add(&sc.hall, t.hall[n], w)
				add(&sc.rack, t.rack[n], w)
				if d != 0 {
					sc.site.addRecap(t.site[n], d)
					sc.hall.addRecap(t.hall[n], d)
					sc.rack.addRecap(t.rack[n], d)
				}
			}
		}
	}
	if k == nil {
		idx := x.runNodes()
		for i := range snap.Running {
			a := &snap.Running[i]
			rcap, recapped := 0, false
			if recaps != nil && a.Job != nil {
				rcap, recapped = recaps[a.Job.ID]
			}
			hold(a.Replicas, idx[:len(a.Replicas)], sc.held, (*containers).add, rcap, recapped)
			idx = idx[len(a.Replicas):]
		}
	}
	if p != nil {
		for _, s := range p.Starts {
			hold(s.Replicas, nil, sc.taken, (*containers).addAfter, 0, false)
		}
	}
}

// toLoad returns the marked containers' loads as maps by ID.
func (c *containers) toLoad(ids func(int32) string) (before, after map[string]float64) {
	before, after = map[string]float64{}, map[string]float64{}
	for _, i := range c.marked {
		before[ids(i)], after[ids(i)] = c.before[i], c.after[i]
	}
	return before, after
}

// siteLoads is the load of the sites in touched (by ID), and of their
// halls and racks, before and after the plan's starts and recaps.
func (x *index) siteLoads(snap *model.Snapshot, p *model.Plan, touched map[string]string) (before, after Load) {
	t := x.tab()
	sc := x.scratch()
	defer x.release()
	for i := range x.fac.Nodes {
		n := &x.fac.Nodes[i]
		if _, ok := touched[n.Site]; ok && t.site[i] >= 0 {
			sc.site.mark(t.site[i], t.siteW, "")
			sc.hall.mark(t.hall[i], t.hallW, "")
			sc.rack.mark(t.rack[i], t.rackW, "")
		}
	}
	x.fold(t, sc, snap, p)
	before.Site, after.Site = sc.site.toLoad(func(i int32) string { return x.fac.Sites[i].ID })
	before.Hall, after.Hall = sc.hall.toLoad(func(i int32) string { return x.fac.Halls[i].ID })
	before.Rack, after.Rack = sc.rack.toLoad(func(i int32) string { return x.fac.Racks[i].ID })
	return before, after
}

// power checks site envelopes and hall and rack caps where starts land
// and where recaps raise a running GPU's draw, on the loads once the
// plan has run: every start, and every running allocation at its cap
// after the plan's recaps, raised or lowered. So a start may use power
// that a recap of the same plan gives back. A plan may not take a load
// above its limit; a load that is already over (a tightened envelope) is
// no violation as long as the plan does not add to it, on balance. One
// violation per container: the first start's on a GPU there when the
// starts go over with only the recaps that give power back, else the
// first recap's that raises a GPU's draw there.
func (v *verifier) power() {
	if !v.x.fac.Policy.Power || len(v.p.Starts)+len(v.p.Recaps) == 0 {
		return
	}
	t, sc := v.x.tab(), v.x.scratch()
	v.x.markStarts(t, sc, v.p)
	v.x.markRecaps(t, sc, v.p)
	v.x.fold(t, sc, v.snap, v.p)
	fac := v.x.fac
	check := func(kind string, c *containers, id func(int32) string, capKW func(int32) float64) {
		slices.Sort(c.marked) // facility order
		for _, i := range c.marked {
			limit := capKW(i) * 1000
			if limit <= 0 || !over(c.after[i], c.before[i], limit) {
				continue
			}
			switch start := c.after[i] - c.raised[i]; {
			case c.first[i] != "" && (c.recap[i] == "" || over(start, c.before[i], limit)):
				v.add(CodePower, c.first[i], "", -1, "%s %s would draw %.0f W (%.0f W before the plan), limit %.0f W",
					kind, id(i), c.after[i], c.before[i], limit)
			case c.recap[i] != "":
				without := ""
				if math.Abs(start-c.before[i]) > 1e-6 { // starts or lowerings there too
					without = fmt.Sprintf("%.0f W without the raises, ", start)
				}
				v.add(CodePower, c.recap[i], "", -1, "%s %s would draw %.0f W once the plan's recaps raise caps (%s%.0f W before the plan), limit %.0f W",
					kind, id(i), c.after[i], without, c.before[i], limit)
			}
		}
	}
	check("site", &sc.site, func(i int32) string { return fac.Sites[i].ID }, func(i int32) float64 { return fac.Sites[i].PowerEnvelopeKW })
	check("hall", &sc.hall, func(i int32) string { return fac.Halls[i].ID }, func(i int32) float64 { return fac.Halls[i].PowerCapKW })
	check("rack", &sc.rack, func(i int32) string { return fac.Racks[i].ID }, func(i int32) float64 { return fac.Racks[i].PowerCapKW })
}

// over reports whether a plan takes a load to w watts against limit: above
// it, and above the load before the plan (a load already over may stay
// over, as long as the plan adds nothing to it on balance).
func over(w, before, limit float64) bool {
	return w > limit+1e-6 && w > before+1e-6
}

// scratch returns this check's working memory, taken on first use from
// the facility's pool; release gives it back.
func (x *index) scratch() *loadScratch {
	if x.sc == nil {
		x.sc = x.tab().getScratch()
	}
	return x.sc
}

func (x *index) release() {
	if x.k != nil {
		x.facIndex.putKept(x.k)
		x.k = nil
	}
	x.synced = false
	if x.sc != nil {
		x.tab().scratch.Put(x.sc)
		x.sc, x.nodesDone = nil, false
	}
}

// keptState returns the Checker's kept state, brought up to date with
// the snapshot on first use (see kept); nil when the check works in full:
// a plain Verify, or another goroutine holds the kept state.
func (x *index) keptState() *kept {
	if !x.keep || x.synced {
		return x.k
	}
	x.synced = true
	if k := x.facIndex.takeKept(); k != nil {
		k.update(x.tab(), x.fac, x.snap)
		x.k = k // only once up to date: a panic in update loses it
	}
	return x.k
}

// runNodes is the node index of every placement of the snapshot's
// running allocations, flattened in order (-1 for an unknown node):
// the checks that fold running work in look each name up once. A
// Checker's check takes them from its kept state, so that it looks up
// only what changed; the checks it keeps enough for do not ask.
func (x *index) runNodes() []int32 {
	sc := x.scratch()
	if x.nodesDone {
		return sc.runNode
	}
	x.nodesDone = true
	if k := x.keptState(); k != nil {
		for _, s := range k.order {
			sc.runNode = append(sc.runNode, k.slots[s].nodes...)
		}
		return sc.runNode
	}
	t := x.tab()
	for i := range x.snap.Running {
		for _, pl := range x.snap.Running[i].Replicas {
			sc.runNode = append(sc.runNode, int32(t.nodeOf(pl.Node)))
		}
	}
	return sc.runNode
}
