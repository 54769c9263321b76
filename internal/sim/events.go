package sim

import (
	"cmp"
	"slices"

	"github.com/carnot-dc/carnot/internal/model"
)

type eventKind int

const (
	evArrival eventKind = iota
	evCompletion
	evEviction
	evWake
	evFail      // a node fails (MTBF)
	evRepair    // a failed node comes back (MTTR)
	evGPUFail   // one GPU fails (GPUMTBF)
	evGPURepair // a failed GPU comes back (GPUMTTR)
)

// event is something that happens at a virtual instant. epoch guards
// completions and evictions that a later decision made stale.
type event struct {
	at    model.Time
	seq   uint64
	kind  eventKind
	job   *jobState
	epoch int
	node  string // evFail, evRepair, evGPUFail, evGPURepair
	gpu   int    // evGPUFail, evGPURepair: the GPU's index on node
}

// before orders events by time, then by the order they were queued: a
// total order, so the events come out the same whatever the heap's shape.
//
//lint:ignore U1000 called through heapOf's type constraint, which staticcheck does not follow
func (e event) before(o event) bool {
	if e.at != o.at {
		return e.at < o.at
	}
	return e.seq < o.seq
}

// queue is the events to come: the workload's arrivals, all known at the
// start, sorted once and kept out of the heap, and a heap of the events
// the run makes, with its sequence counter. Without the arrivals the heap
// holds about what runs and waits, not the whole workload (a million jobs
// would make every pop sift through twenty levels). work counts the
// events other than failures and repairs, of nodes and of GPUs, less
// those a later decision made stale (queue.stale): when none is left the
// run is over, whatever failures would still come.
type queue struct {
	arrivals []arrival // by time, then workload order
	next     int       // arrivals[next:] are to come
	h        heapOf[event]
	seq      uint64
	work     int
}

// arrival is a job of the workload and when it arrives.
type arrival struct {
	at model.Time
	js *jobState
}

// arrive queues the workload's arrivals, given in workload order, before
// any other event. An arrival comes before the other events of its
// instant, as if each were queued first (and numbered so).
func (q *queue) arrive(as []arrival) {
	slices.SortStableFunc(as, func(a, b arrival) int { return cmp.Compare(a.at, b.at) })
	q.arrivals, q.next = as, 0
	q.work += len(as)
}

// arriving reports whether the next event is an arrival.
func (q *queue) arriving() bool {
	return q.next < len(q.arrivals) && (len(q.h) == 0 || q.arrivals[q.next].at <= q.h[0].at)
}

func (q *queue) push(at model.Time, kind eventKind, js *jobState, epoch int) {
	q.seq++
	q.h.push(event{at: at, seq: q.seq, kind: kind, job: js, epoch: epoch})
	q.work++
	if js != nil {
		js.events++
	}
}

// stale stops counting the events of js's current run as work: the run
// ended, so its completion and eviction will change nothing. Counted, a
// completion that a restart at another speed left days after the last
// job kept the run going, and node failures with it (each failure and
// repair an instant of the run, with its idle energy).
func (q *queue) stale(js *jobState) {
	q.work -= js.events
	js.events = 0
}

func (q *queue) pushNode(at model.Time, kind eventKind, node string) {
	q.seq++
	q.h.push(event{at: at, seq: q.seq, kind: kind, node: node})
}

// pushGPU queues a failure or a repair of GPU gpu of node: like a
// node's, not counted as work.
func (q *queue) pushGPU(at model.Time, kind eventKind, node string, gpu int) {
	q.seq++
	q.h.push(event{at: at, seq: q.seq, kind: kind, node: node, gpu: gpu})
}

func (q *queue) empty() bool { return q.next == len(q.arrivals) && len(q.h) == 0 }

func (q *queue) peek() model.Time {
	if q.arriving() {
		return q.arrivals[q.next].at
	}
	return q.h[0].at
}

func (q *queue) pop() event {
	if q.arriving() {
		a := q.arrivals[q.next]
		q.next++
		q.work--
		return event{at: a.at, kind: evArrival, job: a.js}
	}
	e := q.h.pop()
	switch {
	case e.kind == evFail || e.kind == evRepair || e.kind == evGPUFail || e.kind == evGPURepair:
	case e.job == nil:
		q.work--
	case e.epoch == e.job.epoch: // not stale: still counted
		q.work--
		e.job.events--
	}
	return e
}

// heapOf is a binary min-heap of values ordered by their before method.
// It holds values rather than pointers, so that sifting compares what
// lies in the slice and a push allocates nothing once the slice has grown
// (container/heap would box every value in an interface).
type heapOf[T interface{ before(T) bool }] []T

func (h *heapOf[T]) push(x T) {
	s := append(*h, x)
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s[i].before(s[p]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
	*h = s
}

// pop removes and returns the least value; h must not be empty.
func (h *heapOf[T]) pop() T {
	s := *h
	top, n := s[0], len(s)-1
	s[0] = s[n]
	var zero T
	s[n] = zero // keep no pointer in the spare capacity
	s = s[:n]
	for i := 0; ; {
		m := i
		if l := 2*i + 1; l < n && s[l].before(s[m]) {
			m = l
		}
		if r := 2*i + 2; r < n && s[r].before(s[m]) {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}
