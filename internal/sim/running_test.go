package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/carnot-dc/carnot/internal/model"
)

// TestRunningListFollows drives a runningList with random starts, stops,
// changes and clock steps, against the obvious version: the running jobs
// in start order, each LastCheckpoint computed from scratch; and a copy
// that only replays the list's changes stays equal to it.
func TestRunningListFollows(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const every = 10 * model.Minute
	r := runningList{every: every}
	var naive []*jobState // in start order
	var mirror []model.Allocation
	now := t0
	for step := range 5000 {
		switch k := rng.IntN(10); {
		case k < 3: // a job starts
			js := &jobState{job: &model.Job{ID: fmt.Sprint("j", step)}}
			js.alloc = model.Allocation{Job: js.job, Started: now, Replicas: []model.Placement{{Node: "n"}}}
			r.add(js)
			naive = append(naive, js)
		case k < 6 && len(naive) > 0: // one stops
			i := rng.IntN(len(naive))
			r.remove(naive[i])
			naive = slices.Delete(naive, i, i+1)
		case k < 7 && len(naive) > 0: // one is preempted or scales up
			js := naive[rng.IntN(len(naive))]
			js.alloc.Terminating, js.alloc.EvictAt = true, now.Add(model.Minute)
			js.alloc.Replicas = slices.Concat(js.alloc.Replicas, []model.Placement{{Node: "m"}})
			r.update(js)
		default: // the clock moves, sometimes onto a checkpoint
			now = now.Add(model.Duration(rng.IntN(int(every)/2)) + model.Duration(rng.IntN(2))*every)
			r.advance(now)
			var want []model.Allocation
			for _, js := range naive {
				a := js.alloc
				ran := now.Sub(a.Started)
				a.LastCheckpoint = a.Started.Add(ran - ran%every)
				want = append(want, a)
			}
			if !slices.Equal(r.jobs, naive) {
				t.Fatalf("step %d: the running jobs are out of start order", step)
			}
			if !slices.EqualFunc(want, r.allocs.s, sameAlloc) {
				t.Fatalf("step %d: allocations (-want +got):\n%s", step, cmp.Diff(want, r.allocs.s, cmpopts.EquateEmpty()))
			}
			mirror = replay(mirror, r.allocs.log)
			r.allocs.taken()
			if !slices.EqualFunc(r.allocs.s, mirror, sameAlloc) {
				t.Fatalf("step %d: the replayed copy (-want +got):\n%s", step, cmp.Diff(r.allocs.s, mirror, cmpopts.EquateEmpty()))
			}
		}
	}
	if len(naive) == 0 || len(r.due) == 0 {
		t.Fatal("the test ran no jobs")
	}
}

// sameAlloc reports whether a and b are the same allocation: equal
// fields and the very same placements (the core and the checker tell an
// unchanged allocation by its slice).
func sameAlloc(a, b model.Allocation) bool {
	return a.Job == b.Job && a.Started == b.Started && a.LastCheckpoint == b.LastCheckpoint &&
		a.Terminating == b.Terminating && a.EvictAt == b.EvictAt && a.PreemptedFor == b.PreemptedFor &&
		len(a.Replicas) == len(b.Replicas) && (len(a.Replicas) == 0 || &a.Replicas[0] == &b.Replicas[0])
}

// TestLoggedReplay: a copy that replays a logged slice's changes, taken
// now and then, stays equal to it.
func TestLoggedReplay(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var l logged[int]
	var mirror []int
	for step := range 5000 {
		switch k, n := rng.IntN(4), len(l.s); {
		case k == 0 && n > 0:
			l.set(rng.IntN(n), step)
		case k == 1 && n > 0:
			l.delete(rng.IntN(n))
		case k == 2:
			l.insert(rng.IntN(n+1), step)
		default:
			mirror = replay(mirror, l.log)
			l.taken()
			if !slices.Equal(l.s, mirror) {
				t.Fatalf("step %d: the copy is %v, want %v", step, mirror, l.s)
			}
		}
	}
}

type intItem int

//lint:ignore U1000 called through heapOf's type constraint, which staticcheck does not follow
func (a intItem) before(b intItem) bool { return a < b }

// TestHeapOf: values come out in order, whatever order they went in and
// however pushes and pops interleave.
func TestHeapOf(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var h heapOf[intItem]
	var naive []intItem
	for range 10_000 {
		if rng.IntN(3) > 0 || len(naive) == 0 {
			x := intItem(rng.IntN(1000))
			h.push(x)
			naive = append(naive, x)
			continue
		}
		m := slices.Min(naive)
		if got := h.pop(); got != m {
			t.Fatalf("popped %d, want %d", got, m)
		}
		naive = slices.Delete(naive, slices.Index(naive, m), slices.Index(naive, m)+1)
	}
}
