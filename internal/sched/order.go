package sched

import (
	"container/heap"
	"math"
	"sort"

	"github.com/carnot-dc/carnot/internal/model"
)

// queue yields pending jobs in scheduling order: priority class value
// (highest first), then the tenant with the lowest fair-share usage per
// weight (when fair share is on), then submit time, then ID. Usage
// changes as the pass starts jobs, so the next tenant is chosen lazily.
type queue struct {
	levels [][]*tenantQueue // per priority value, highest first
	li     int
	h      tenantHeap
	fair   bool
	// Jobs postponed to the end of their priority level (those that
	// would borrow quota) and the cursor of that second round.
	later []*model.Job
	li2   int
	// The tenant last popped goes back into the heap on the next call,
	// after the caller has charged its start (if any) to its share.
	repush *tenantQueue
}

// postpone moves j to the second round of the current priority level.
func (q *queue) postpone(j *model.Job) { q.later = append(q.later, j) }

type tenantQueue struct {
	name  string
	jobs  []*model.Job
	next  int
	share *float64 // usage per weight; shared with the pass
}

type tenantHeap []*tenantQueue

func (h tenantHeap) Len() int { return len(h) }
func (h tenantHeap) Less(i, j int) bool {
	if *h[i].share != *h[j].share {
		return *h[i].share < *h[j].share
	}
	return h[i].name < h[j].name
}
func (h tenantHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *tenantHeap) Push(x any)   { *h = append(*h, x.(*tenantQueue)) }
func (h *tenantHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// jobLess orders jobs by submit time, then ID.
func jobLess(a, b *model.Job) bool {
	if a.SubmitTime != b.SubmitTime {
		return a.SubmitTime < b.SubmitTime
	}
	return a.ID < b.ID
}

// newQueue groups jobs by priority and tenant. prio maps a job to its
// priority value; shares holds each tenant's current usage per weight.
func newQueue(jobs []*model.Job, prio func(*model.Job) int, fair bool, shares map[string]*float64) *queue {
	q := &queue{fair: fair}
	byPrio := map[int][]*model.Job{}
	var values []int
	for _, j := range jobs {
		v := prio(j)
		if _, ok := byPrio[v]; !ok {
			values = append(values, v)
		}
		byPrio[v] = append(byPrio[v], j)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(values)))
	zero := 0.0
	for _, v := range values {
		js := byPrio[v]
		sort.Slice(js, func(a, b int) bool { return jobLess(js[a], js[b]) })
		if !fair {
			q.levels = append(q.levels, []*tenantQueue{{name: "", jobs: js, share: &zero}})
			continue
		}
		byTenant := map[string]*tenantQueue{}
		var level []*tenantQueue
		for _, j := range js {
			tq := byTenant[j.Tenant]
			if tq == nil {
				s := shares[j.Tenant]
				if s == nil {
					s = new(float64)
					shares[j.Tenant] = s
				}
				tq = &tenantQueue{name: j.Tenant, share: s}
				byTenant[j.Tenant] = tq
				level = append(level, tq)
			}
			tq.jobs = append(tq.jobs, j)
		}
		q.levels = append(q.levels, level)
	}
	q.li = -1
	return q
}

// next returns the next job and whether it comes from the second round,
// or nil when the queue is exhausted.
func (q *queue) next() (*model.Job, bool) {
	if q.repush != nil {
		heap.Push(&q.h, q.repush)
		q.repush = nil
	}
	for {
		if len(q.h) > 0 {
			tq := heap.Pop(&q.h).(*tenantQueue)
			j := tq.jobs[tq.next]
			tq.next++
			if tq.next < len(tq.jobs) {
				q.repush = tq
			}
			return j, false
		}
		if q.li2 < len(q.later) {
			j := q.later[q.li2]
			q.li2++
			return j, true
		}
		q.later, q.li2 = q.later[:0], 0
		q.li++
		if q.li >= len(q.levels) {
			return nil, false
		}
		q.h = append(q.h[:0], q.levels[q.li]...)
		heap.Init(&q.h)
	}
}

// decay returns v decayed from asOf to now with the given half-life.
func decay(v float64, asOf, now model.Time, halfLife model.Duration) float64 {
	if halfLife <= 0 || now <= asOf {
		return v
	}
	return v * math.Exp2(-float64(now-asOf)/float64(halfLife))
}
