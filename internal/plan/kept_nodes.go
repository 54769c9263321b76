package plan

import (
	"cmp"
	"slices"

	"github.com/carnot-dc/carnot/internal/model"
)

// What a Checker keeps of where running work sits: by node, the running
// placements on it; by job ID, the allocations that run the job. Both
// point into the kept slots, whose placements and jobs are the
// snapshot's own (the same slices and pointers), so what a check reads
// through them is what a scan of the snapshot would read. Only the
// membership is kept by difference, and it follows from what the slot
// matching already relies on: a placement slice handed over is never
// written to, and a job is never changed in place. The order is not
// kept: a check sorts what it reads by the slots' places in the
// snapshot (kept.update renumbers them every time).

// nodeRef is placement rep of slot s.
type nodeRef struct{ slot, rep int32 }

// occupy adds (sign +1) or removes (-1) slot s from the node and job
// lookups. Allocations without a job hold nothing there (the start
// checks skip them), placements on unknown nodes neither (a start on an
// unknown node is reported before it looks at the node's use).
func (k *kept) occupy(s int32, sign int) {
	o := &k.slots[s]
	if o.job == nil {
		return
	}
	for i, n := range o.nodes {
		if n < 0 {
			continue
		}
		r := nodeRef{s, int32(i)}
		if sign > 0 {
			k.onNode[n] = append(k.onNode[n], r)
		} else {
			k.onNode[n] = swapDelete(k.onNode[n], r)
		}
	}
	id := o.job.ID
	if sign > 0 {
		k.byJob[id] = append(k.byJob[id], s)
	} else if rest := swapDelete(k.byJob[id], s); len(rest) > 0 {
		k.byJob[id] = rest
	} else {
		delete(k.byJob, id)
	}
}

// swapDelete removes one e from xs, not keeping the order. A slot is
// removed with the nodes and job it was added with, so e is there.
func swapDelete[T comparable](xs []T, e T) []T {
	i := slices.Index(xs, e)
	if i < 0 {
		return xs
	}
	last := len(xs) - 1
	xs[i] = xs[last]
	return xs[:last]
}

// onNodes appends to refs the running placements on nodes ns, in
// snapshot order: by allocation, then by placement.
func (k *kept) onNodes(refs []nodeRef, ns []int32) []nodeRef {
	for _, n := range ns {
		refs = append(refs, k.onNode[n]...)
	}
	slices.SortFunc(refs, func(a, b nodeRef) int {
		return cmp.Or(cmp.Compare(k.slots[a.slot].pos, k.slots[b.slot].pos), cmp.Compare(a.rep, b.rep))
	})
	return refs
}

// runs reports whether job id has a running allocation in snap, the
// snapshot k is up to date with.
func (k *kept) runs(snap *model.Snapshot, id string) bool {
	if len(k.byJob[id]) > 0 {
		return true
	}
	for _, i := range k.bare {
		if snap.Running[i].Job.ID == id {
			return true
		}
	}
	return false
}

// running returns job id's allocations in snap, in snapshot order.
func (k *kept) running(snap *model.Snapshot, id string) []*model.Allocation {
	var at []int32
	for _, s := range k.byJob[id] {
		at = append(at, k.slots[s].at)
	}
	for _, i := range k.bare {
		if snap.Running[i].Job.ID == id {
			at = append(at, i)
		}
	}
	if len(at) == 0 {
		return nil
	}
	slices.Sort(at)
	out := make([]*model.Allocation, len(at))
	for i, a := range at {
		out[i] = &snap.Running[a]
	}
	return out
}
