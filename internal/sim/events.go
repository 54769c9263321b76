package sim

import (
	"container/heap"

	"github.com/carnot-dc/carnot/internal/model"
)

type eventKind int

const (
	evArrival eventKind = iota
	evCompletion
	evEviction
	evWake
	evFail   // a node fails (MTBF)
	evRepair // a failed node comes back (MTTR)
)

// event is something that happens at a virtual instant. epoch guards
// completions and evictions that a later decision made stale.
type event struct {
	at    model.Time
	seq   uint64
	kind  eventKind
	job   *jobState
	epoch int
	node  string // evFail, evRepair
}

type eventHeap []*event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(*event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// queue is the event heap with its sequence counter. work counts the
// events other than node failures and repairs: when none is left the run
// is over, whatever failures would still come.
type queue struct {
	h    eventHeap
	seq  uint64
	work int
}

func (q *queue) push(at model.Time, kind eventKind, js *jobState, epoch int) {
	q.seq++
	heap.Push(&q.h, &event{at: at, seq: q.seq, kind: kind, job: js, epoch: epoch})
	q.work++
}

func (q *queue) pushNode(at model.Time, kind eventKind, node string) {
	q.seq++
	heap.Push(&q.h, &event{at: at, seq: q.seq, kind: kind, node: node})
}

func (q *queue) empty() bool { return len(q.h) == 0 }

func (q *queue) peek() model.Time { return q.h[0].at }

func (q *queue) pop() *event {
	e := heap.Pop(&q.h).(*event)
	if e.kind != evFail && e.kind != evRepair {
		q.work--
	}
	return e
}
