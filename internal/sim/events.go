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
)

// event is something that happens at a virtual instant. epoch guards
// completions and evictions that a later decision made stale.
type event struct {
	at    model.Time
	seq   uint64
	kind  eventKind
	job   *jobState
	epoch int
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

// queue is the event heap with its sequence counter.
type queue struct {
	h   eventHeap
	seq uint64
}

func (q *queue) push(at model.Time, kind eventKind, js *jobState, epoch int) {
	q.seq++
	heap.Push(&q.h, &event{at: at, seq: q.seq, kind: kind, job: js, epoch: epoch})
}

func (q *queue) empty() bool { return len(q.h) == 0 }

func (q *queue) peek() model.Time { return q.h[0].at }

func (q *queue) pop() *event { return heap.Pop(&q.h).(*event) }
