package sched

import (
	"cmp"
	"slices"

	"github.com/carnot-dc/carnot/internal/model"
)

// kept is what a Queue's view keeps for the passes beyond the cluster:
// the victim index (pass.victimIndex) and the release timeline
// (pass.buildReleases) of the last synced snapshot. Both depend on the
// snapshot alone, never on a pass, so a pass reads them and changes
// nothing in them (a pass that adds its starts to the releases copies
// them first).
//
// sync notes each holding whose entries may have changed (placements,
// termination, eviction or start time; a holding that ended) and the
// next pass that needs the index or the releases applies those notes
// first: a few changes cost a few updates, not a pass over everything
// running. They are built anew when a note cannot be applied exactly
// (holdings of the snapshot in another relative order, too many
// notes), after a rebuild of the view, and not kept at all while the
// view is fragile (among others, an allocation's holding is not its own:
// a job listed twice, two jobs with one ID): passes then build their
// own, as Schedule does.
type kept struct {
	// victims, per GPU model, in the order of the snapshot's
	// allocations; an entry whose allocation left is a hole (a nil
	// holding) until the list is compacted. live counts the other
	// entries, prios counts them by priority, and minPrio is the lowest
	// priority among them.
	victims [][]vref
	live    []int
	prios   []map[int]int
	minPrio []int
	vOK     bool
	vNotes  []*holding
	holes   []int // per model

	// releases of the holdings, by end (not clamped to any now) and job
	// ID: release order for a pass whose now precedes every end.
	releases []release
	rOK      bool
	rNotes   []*holding

	stamp uint32

	builds, updates int // for tests: structures built, notes applied
}

// vslot is where a holding's entry is in the victim list of a model.
type vslot struct{ model, pos int }

// reset forgets both structures (a rebuilt view).
func (k *kept) reset() {
	k.vOK, k.rOK = false, false
	k.vNotes, k.rNotes = k.vNotes[:0], k.rNotes[:0]
}

// note records that h's entries may have changed; notes beyond what a
// fresh build costs give the structure up until it is built again.
func (k *kept) note(h *holding, held int) {
	if k.vOK {
		if k.vNotes = append(k.vNotes, h); len(k.vNotes) > held/2+64 {
			k.vOK, k.vNotes = false, k.vNotes[:0]
		}
	}
	if k.rOK {
		if k.rNotes = append(k.rNotes, h); len(k.rNotes) > held/8+32 {
			k.rOK, k.rNotes = false, k.rNotes[:0]
		}
	}
}

// sees reports whether h has kept what the victim index and the
// releases read of a, its allocation, beyond its placements.
func (h *holding) sees(a *model.Allocation) bool {
	return h.term == a.Terminating && h.evictAt == a.EvictAt && h.started == a.Started
}

// observe keeps that of a in h and notes h (its placements changed, or
// the rest did).
func (b *base) observe(h *holding, a *model.Allocation) {
	h.term, h.evictAt, h.started = a.Terminating, a.EvictAt, a.Started
	b.kept.note(h, len(b.list))
	for _, n := range h.nodes { // its release may have moved: see place/version.go
		b.c.Touch(n)
	}
}

// gone notes a holding that ended.
func (b *base) gone(h *holding) {
	h.gone = true
	b.kept.note(h, len(b.list))
}

// end is when h's allocation releases its resources (Allocation.End).
func (h *holding) end() model.Time {
	a := model.Allocation{Job: h.job, Terminating: h.term, EvictAt: h.evictAt, Started: h.started}
	return a.End()
}

// victimOf reports whether h's allocation could ever be a victim.
func (h *holding) victimOf() bool { return !h.gone && !h.term && h.job.Preemptible }

// shape is what h holds per GPU model, as pass.shapeOf finds it.
func (b *base) shape(h *holding) []vshape {
	var out []vshape
	for k, r := range h.reps {
		n := h.nodes[k]
		if n < 0 {
			continue
		}
		out = addShape(out, &b.c.Nodes[n], len(r.GPUs))
	}
	return out
}

// victimIndex returns the kept victim index, brought up to date, with
// the lowest priority and the number of entries per model; false when
// the view keeps none (a pass builds its own). who is what a job is to
// the pass (pass.victimWho), kept with its holding.
func (b *base) victimIndex(who func(*model.Job) victimWho) (idx [][]vref, minPrio, live []int, ok bool) {
	k := &b.kept
	if b.fragile {
		return nil, nil, nil, false
	}
	whoOf := func(h *holding) victimWho {
		if !h.whoOK {
			h.who, h.whoOK = who(h.job), true
		}
		return h.who
	}
	if !k.vOK {
		b.buildVictims(whoOf)
		k.builds++
	} else if len(k.vNotes) > 0 {
		b.applyVictimNotes(whoOf)
		k.updates++
	}
	return k.victims, k.minPrio, k.live, true
}

// buildVictims lists every possible victim anew, in snapshot order.
func (b *base) buildVictims(who func(*holding) victimWho) {
	k := &b.kept
	models := len(b.c.Models)
	if len(k.victims) != models {
		k.victims, k.live, k.holes = make([][]vref, models), make([]int, models), make([]int, models)
		k.prios, k.minPrio = make([]map[int]int, models), make([]int, models)
		for m := range k.prios {
			k.prios[m] = map[int]int{}
		}
	}
	for m := range k.victims {
		clear(k.victims[m])
		k.victims[m], k.live[m], k.holes[m] = k.victims[m][:0], 0, 0
		clear(k.prios[m])
	}
	for _, h := range b.order {
		if h == nil {
			continue
		}
		h.vat = h.vat[:0]
		if h.victimOf() {
			b.addVictim(h, b.shape(h), who(h))
		}
	}
	for m := range k.minPrio {
		k.setMin(m)
	}
	k.vOK, k.vNotes = true, k.vNotes[:0]
}

// addVictim appends h's entries; it reports the models whose lists are
// now out of snapshot order.
func (b *base) addVictim(h *holding, shape []vshape, w victimWho) (unsorted []int) {
	k := &b.kept
	for _, sh := range shape {
		list := k.victims[sh.model]
		last := len(list) - 1
		for last >= 0 && list[last].h == nil {
			last--
		}
		if last >= 0 && list[last].h.idx > h.idx {
			unsorted = append(unsorted, sh.model)
		}
		h.vat = append(h.vat, vslot{sh.model, len(list)})
		k.victims[sh.model] = append(list, vref{h: h, gpus: sh.gpus, sites: sh.sites, victimWho: w})
		k.live[sh.model]++
		k.prios[sh.model][w.prio]++
	}
	return unsorted
}

// applyVictimNotes brings the entries of the noted holdings up to date:
// first every old entry is updated in place or made a hole, then new
// entries are appended; a list that an entry joined out of order is
// sorted again, and one with many holes compacted.
func (b *base) applyVictimNotes(who func(*holding) victimWho) {
	k := &b.kept
	k.stamp++
	touched := map[int]bool{}
	shapes := make([][]vshape, len(k.vNotes))
	for i, h := range k.vNotes {
		if h.vmark == k.stamp {
			k.vNotes[i] = nil // noted twice
			continue
		}
		h.vmark = k.stamp
		if h.victimOf() {
			shapes[i] = b.shape(h)
		}
		kept := h.vat[:0]
		for _, s := range h.vat {
			e := &k.victims[s.model][s.pos]
			touched[s.model] = true
			if x := slices.IndexFunc(shapes[i], func(sh vshape) bool { return sh.model == s.model }); x >= 0 {
				e.gpus, e.sites = shapes[i][x].gpus, shapes[i][x].sites
				shapes[i][x].model = -1 // listed
				kept = append(kept, s)
				continue
			}
			k.live[s.model]--
			k.holes[s.model]++
			k.dropPrio(s.model, e.prio)
			*e = vref{}
		}
		h.vat = kept
	}
	var unsorted []int
	for i, h := range k.vNotes {
		if h == nil || len(shapes[i]) == 0 {
			continue
		}
		shape := slices.DeleteFunc(shapes[i], func(sh vshape) bool { return sh.model < 0 })
		for _, sh := range shape {
			touched[sh.model] = true
		}
		unsorted = append(unsorted, b.addVictim(h, shape, who(h))...)
	}
	for m := range touched {
		out := slices.Contains(unsorted, m)
		if out || k.holes[m] > k.live[m]/4+32 {
			k.compact(m, out)
		}
		k.setMin(m)
	}
	k.vNotes = k.vNotes[:0]
}

// compact drops the holes of model m's list, sorts it back into
// snapshot order when asked, and moves its holdings' slots along.
func (k *kept) compact(m int, sort bool) {
	list := slices.DeleteFunc(k.victims[m], func(r vref) bool { return r.h == nil })
	if sort {
		slices.SortFunc(list, func(a, b vref) int { return cmp.Compare(a.h.idx, b.h.idx) })
	}
	for pos := range list {
		h := list[pos].h
		for x := range h.vat {
			if h.vat[x].model == m {
				h.vat[x].pos = pos
			}
		}
	}
	k.victims[m], k.holes[m] = list, 0
}

func (k *kept) dropPrio(m, prio int) {
	if k.prios[m][prio]--; k.prios[m][prio] == 0 {
		delete(k.prios[m], prio)
	}
}

// setMin sets the lowest priority of model m's entries.
func (k *kept) setMin(m int) {
	k.minPrio[m] = int(^uint(0) >> 1)
	for p := range k.prios[m] {
		k.minPrio[m] = min(k.minPrio[m], p)
	}
}

// releaseCmp orders releases as releaseLess does.
func releaseCmp(a, b release) int {
	if c := cmp.Compare(a.at, b.at); c != 0 {
		return c
	}
	return cmp.Compare(a.job.ID, b.job.ID)
}

// keptRelease is h's release as the kept list has it: at its end, not
// clamped to any now.
func keptRelease(h *holding, end model.Time) release {
	return release{at: end, job: h.job, reps: h.reps, idx: -1, h: h}
}

// releaseList returns the kept releases, brought up to date, sorted by
// end and job ID; false when the view keeps none.
func (b *base) releaseList() ([]release, bool) {
	k := &b.kept
	if b.fragile {
		return nil, false
	}
	if k.rOK && len(k.rNotes) > 0 {
		k.updates++
		if !b.applyReleaseNotes() {
			k.rOK = false // a bug: build them anew
		}
	}
	if !k.rOK {
		k.builds++
		k.releases = k.releases[:0]
		for _, h := range b.order {
			if h == nil {
				continue
			}
			h.rIn = false
			if end := h.end(); end < model.Forever {
				h.rIn, h.rAt = true, end
				k.releases = append(k.releases, keptRelease(h, end))
			}
		}
		slices.SortFunc(k.releases, releaseCmp)
		k.rOK = true
	}
	k.rNotes = k.rNotes[:0]
	return k.releases, true
}

// applyReleaseNotes moves the releases of the noted holdings; false
// means one was not where its key says.
func (b *base) applyReleaseNotes() bool {
	k := &b.kept
	k.stamp++
	for _, h := range k.rNotes {
		if h.rmark == k.stamp {
			continue
		}
		h.rmark = k.stamp
		if h.rIn { // job IDs are unique: the key finds the entry
			i, found := slices.BinarySearchFunc(k.releases, keptRelease(h, h.rAt), releaseCmp)
			if !found || k.releases[i].h != h {
				return false
			}
			k.releases = slices.Delete(k.releases, i, i+1)
			h.rIn = false
		}
		if end := h.end(); !h.gone && end < model.Forever {
			r := keptRelease(h, end)
			i, _ := slices.BinarySearchFunc(k.releases, r, releaseCmp)
			k.releases = slices.Insert(k.releases, i, r)
			h.rIn, h.rAt = true, end
		}
	}
	return true
}
