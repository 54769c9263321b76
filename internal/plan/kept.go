package plan

import (
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/quota"
)

// kept is what a Checker keeps of the running allocations of the last
// snapshot it checked, brought up to date by difference: a driver that
// checks one pass after another changes few allocations between two
// passes, while the power and quota checks fold in all of them.
//
// It relies on the contract of sched.Quick: an allocation whose
// placements are the very same slice (first element and length) as in an
// earlier snapshot, with the same job, is unchanged, as a driver gives a
// changed allocation a new slice and never writes into one it has handed
// over. Any other snapshot is still checked right, at the cost of
// removing what it lacks and adding what it brings.
//
// It holds, by allocation: each placement's node index; by node, which
// running placements lie on it, and by job ID, which allocations run it
// (what the start checks and the lookups of running jobs read, in
// snapshot order, instead of scanning every allocation); by GPU, how
// many running placements hold it; by node and by site, hall and rack,
// what the held GPUs draw above idle; and the quota tree with the
// running usage. Watts are kept as integers (GPU watts are whole), so a
// sum does not depend on the order of the additions and subtractions
// that made it. Its loads stand for the full computation (fold) only when
// no GPU is held twice (the first holder's draw would count) and every
// cap is within exactW; see loadsOK. What it keeps by node and by job
// needs no such condition: a check reads the placements and jobs
// themselves through it (see kept_nodes.go).
type kept struct {
	slots   []keptAlloc
	free    []int32                    // unused slots
	order   []int32                    // slot of each allocation with placements, in snapshot order
	spare   []int32                    // the next order's memory
	added   []int32                    // slots an update adds
	byFirst map[*model.Placement]int32 // slot by its first placement
	gen     uint32                     // the update under way, stamped on the slots it finds

	tree *quota.Tree // quota tree with the running usage

	// Occupancy, for the start checks and the running lookups (see
	// kept_nodes.go): by node, the running placements on it of
	// allocations with a job; by job ID, its slots; and the snapshot
	// index of each allocation with a job but no placements.
	onNode [][]nodeRef
	byJob  map[string][]int32
	bare   []int32

	// Loads, only where the power check needs them and the facility's
	// tables allow them (keepLoads).
	held   []int32 // per GPU: running placements holding it
	dups   int     // Σ max(0, held−1): holdings beyond the first
	wild   int     // counted placements with a cap beyond exactW
	nodeW  []int64 // per node: watts above idle of its held GPUs
	siteW  []int64 // per site, hall and rack: Σ nodeW of its nodes
	hallW  []int64
	rackW  []int64
	loadOn bool
}

// keptAlloc is one running allocation of the last snapshot.
type keptAlloc struct {
	reps  []model.Placement
	job   *model.Job
	nodes []int32 // node index of each placement, -1 if unknown
	pos   int32   // index in kept.order
	at    int32   // index in the snapshot's Running
	seen  uint32  // kept.gen of the last update that found it
}

// exactW bounds the watts of one GPU for which the kept loads stand in
// for fold: below it (and with the bounds of keepLoads), every partial
// sum of fold is a whole number under 2^53, so floating point adds
// exactly, in any order.
const exactW = 1 << 24

func newKept(t *facTables, fac *model.Facility) *kept {
	k := &kept{byFirst: map[*model.Placement]int32{}, tree: t.qtree.Clone(), loadOn: t.keepLoads && fac.Policy.Power,
		onNode: make([][]nodeRef, len(fac.Nodes)), byJob: map[string][]int32{}}
	if k.loadOn {
		k.held, k.nodeW = make([]int32, t.gpus), make([]int64, len(fac.Nodes))
		k.siteW, k.hallW, k.rackW = make([]int64, len(fac.Sites)), make([]int64, len(fac.Halls)), make([]int64, len(fac.Racks))
	}
	return k
}

// loadsOK reports whether the kept loads are what fold would compute.
func (k *kept) loadsOK() bool { return k.loadOn && k.dups == 0 && k.wild == 0 }

// same reports whether slot s is allocation a of the last snapshot.
func (k *kept) same(s int32, a *model.Allocation) bool {
	o := &k.slots[s]
	return o.seen != k.gen && len(o.reps) == len(a.Replicas) && &o.reps[0] == &a.Replicas[0] && o.job == a.Job
}

// update brings k to snap's running allocations. Allocations are
// matched in order (most stay where they were, a few end or start) and,
// where that fails, by their first placement; those left unmatched were
// removed. Removals go first, so that a GPU one allocation hands to
// another is never counted as held twice.
func (k *kept) update(t *facTables, fac *model.Facility, snap *model.Snapshot) {
	if k.gen++; k.gen == 0 { // wrapped: forget every stamp
		for i := range k.slots {
			k.slots[i].seen = 0
		}
		k.gen = 1
	}
	next, c := k.spare[:0], 0 // c: the slot of k.order expected next
	k.added, k.bare = k.added[:0], k.bare[:0]
	for i := range snap.Running {
		a := &snap.Running[i]
		if len(a.Replicas) == 0 {
			if a.Job != nil { // holds nothing, but runs
				k.bare = append(k.bare, int32(i))
			}
			continue
		}
		s := int32(-1)
		if c < len(k.order) && k.same(k.order[c], a) {
			s = k.order[c]
		} else if j, ok := k.byFirst[&a.Replicas[0]]; ok && k.same(j, a) {
			s = j
		}
		if s >= 0 {
			c = int(k.slots[s].pos) + 1
		} else {
			s = k.slot(t, a)
			k.added = append(k.added, s)
		}
		o := &k.slots[s]
		o.seen, o.pos, o.at = k.gen, int32(len(next)), int32(i)
		next = append(next, s)
	}
	for _, s := range k.order {
		if o := &k.slots[s]; o.seen != k.gen {
			k.apply(t, fac, s, -1)
			if k.byFirst[&o.reps[0]] == s {
				delete(k.byFirst, &o.reps[0])
			}
			o.reps, o.job = nil, nil // let the snapshot's memory go
			k.free = append(k.free, s)
		}
	}
	for _, s := range k.added {
		k.apply(t, fac, s, +1)
		k.byFirst[&k.slots[s].reps[0]] = s
	}
	k.order, k.spare = next, k.order
}

// slot records allocation a in a free slot and returns it.
func (k *kept) slot(t *facTables, a *model.Allocation) int32 {
	var s int32
	if n := len(k.free); n > 0 {
		s, k.free = k.free[n-1], k.free[:n-1]
	} else {
		s = int32(len(k.slots))
		k.slots = append(k.slots, keptAlloc{})
	}
	o := &k.slots[s]
	o.reps, o.job, o.nodes = a.Replicas, a.Job, o.nodes[:0]
	for _, pl := range a.Replicas {
		o.nodes = append(o.nodes, int32(t.nodeOf(pl.Node)))
	}
	return s
}

// apply adds (sign +1) or removes (-1) slot s's occupancy, usage and
// loads, as starts, newQuotas and fold count them.
func (k *kept) apply(t *facTables, fac *model.Facility, s int32, sign int) {
	o := &k.slots[s]
	k.occupy(s, sign)
	if o.job != nil {
		if ti := k.tree.Tenant(o.job.Tenant); ti >= 0 {
			for i, pl := range o.reps {
				if n := o.nodes[i]; n >= 0 && len(pl.GPUs) > 0 && t.qmodel[n] >= 0 {
					k.tree.Add(ti, int(t.qmodel[n]), int64(sign*len(pl.GPUs)))
				}
			}
		}
	}
	if !k.loadOn {
		return
	}
	for i, pl := range o.reps {
		n := o.nodes[i]
		if len(pl.GPUs) == 0 || n < 0 || t.site[n] < 0 {
			continue // as in fold
		}
		if pl.PowerCapW >= exactW {
			k.wild += sign
			continue
		}
		w := int64(t.tdp[n])
		if pl.PowerCapW > 0 {
			w = int64(pl.PowerCapW)
		}
		w = int64(sign) * (w - int64(t.idle[n]))
		at := int(t.gpuAt[n])
		for _, g := range pl.GPUs {
			if g < 0 || g >= fac.Nodes[n].GPUs {
				continue
			}
			h := &k.held[at+g]
			if sign > 0 {
				if *h > 0 {
					k.dups++
				}
				*h++
			} else if *h--; *h > 0 {
				k.dups--
			}
			k.nodeW[n] += w
			k.siteW[t.site[n]] += w
			if i := t.hall[n]; i >= 0 {
				k.hallW[i] += w
			}
			if i := t.rack[n]; i >= 0 {
				k.rackW[i] += w
			}
		}
	}
}

// takeKept takes the Checker's kept state, made on first use; nil while
// another goroutine holds it (that check takes the full path) or once a
// check that held it panicked.
func (x *facIndex) takeKept() *kept {
	x.keptMu.Lock()
	defer x.keptMu.Unlock()
	k := x.kept
	x.kept = nil
	if k == nil && !x.keptMade {
		x.keptMade = true
		k = newKept(x.tab(), x.fac)
	}
	return k
}

// putKept hands the kept state back for the next check.
func (x *facIndex) putKept(k *kept) {
	x.keptMu.Lock()
	defer x.keptMu.Unlock()
	x.kept = k
}
