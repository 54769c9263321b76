package sim

import (
	"slices"

	"github.com/carnot-dc/carnot/internal/model"
)

// runningList is the running jobs and their allocations in the order they
// started, which is the snapshot's Running (the core's decisions depend
// on that order). A pass changes a few allocations while hundreds run,
// so the list does its per-pass work by difference: each allocation's
// LastCheckpoint moves when its next checkpoint falls due (a heap, not a
// sweep), and the allocations are logged for the verifier.
//
// An allocation given to the list is a value the twin never writes into:
// a change of placements comes with a new Replicas slice (see twin.start).
type runningList struct {
	jobs   []*jobState              // in the order they started
	seqs   []int64                  // seqs[i] is jobs[i].runSeq: increasing, searched
	allocs logged[model.Allocation] // allocs.s[i] is jobs[i]'s, LastCheckpoint included
	due    heapOf[checkpoint]       // the next checkpoint of each running job
	seq    int64                    // the last runSeq given
	every  model.Duration           // the checkpoint interval
}

// checkpoint is when a run (by its runSeq) next saves its progress; a
// run that has ended since is no longer listed.
type checkpoint struct {
	at  model.Time
	seq int64
}

//lint:ignore U1000 called through heapOf's type constraint, which staticcheck does not follow
func (c checkpoint) before(o checkpoint) bool { return c.at < o.at }

// add appends a job that has just started (its allocation's Started).
func (r *runningList) add(js *jobState) {
	r.seq++
	js.runSeq = r.seq
	a := js.alloc
	a.LastCheckpoint = a.Started
	r.jobs = append(r.jobs, js)
	r.seqs = append(r.seqs, r.seq)
	r.allocs.insert(len(r.allocs.s), a)
	r.due.push(checkpoint{at: a.Started.Add(r.every), seq: r.seq})
}

// index is the index of the run numbered seq, -1 if it has ended.
func (r *runningList) index(seq int64) int {
	if i, found := slices.BinarySearch(r.seqs, seq); found {
		return i
	}
	return -1
}

// remove drops js, keeping the others' order (determinism).
func (r *runningList) remove(js *jobState) {
	if i := r.index(js.runSeq); i >= 0 {
		r.jobs = slices.Delete(r.jobs, i, i+1)
		r.seqs = slices.Delete(r.seqs, i, i+1)
		r.allocs.delete(i)
	}
}

// update makes js.alloc the snapshot's allocation of js (after a change
// to it); its checkpoint stays.
func (r *runningList) update(js *jobState) {
	if i := r.index(js.runSeq); i >= 0 {
		a := js.alloc
		a.LastCheckpoint = r.allocs.s[i].LastCheckpoint
		r.allocs.set(i, a)
	}
}

// advance moves to now the LastCheckpoint of each job whose next
// checkpoint is due: the last multiple of the interval since it started.
func (r *runningList) advance(now model.Time) {
	for len(r.due) > 0 && r.due[0].at <= now {
		c := r.due.pop()
		i := r.index(c.seq)
		if i < 0 {
			continue // stopped since
		}
		a := r.allocs.s[i]
		ran := now.Sub(a.Started)
		a.LastCheckpoint = a.Started.Add(ran - ran%r.every)
		r.allocs.set(i, a)
		r.due.push(checkpoint{at: a.LastCheckpoint.Add(r.every), seq: c.seq})
	}
}
