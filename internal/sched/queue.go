package sched

import (
	"sort"

	"github.com/carnot-dc/carnot/internal/model"
)

// Queue holds pending jobs grouped the way a pass walks them: by priority
// class value, then by tenant, each tenant's jobs in the policy's order
// (submit time and ID, or shortest runtime limit first). Schedule builds one from the snapshot on every call. A driver
// that wants fast event-driven passes keeps one between passes, updates
// it with Add and Remove as jobs arrive, start or leave, and hands it to
// Quick. A Queue is a plain value: no IO, no clock, no goroutines; it is
// not safe for concurrent use.
type Queue struct {
	prio   map[string]int
	less   func(a, b *model.Job) bool // the policy's order within a tenant
	levels []*qlevel                  // highest value first
	where  map[string]*model.Job      // by ID; built on first Add, Remove or Get
	n      int
	// prep caches the facility-only part of a pass for Quick (rebuilt
	// when the snapshot's facility pointer changes; a facility must not
	// be modified in place).
	prep prepared
	base base // the cluster view of the last snapshot Quick saw
}

type qlevel struct {
	value   int
	tenants []*qtenant // by name
	index   map[string]*qtenant
}

// qtenant is one tenant's jobs at one priority; removed jobs leave nil
// holes until the list is compacted.
type qtenant struct {
	less func(a, b *model.Job) bool
	name string
	jobs []*model.Job
	live int
}

// NewQueue groups jobs for fac's priority classes (an unknown class counts
// as value 0; the pass reports it as invalid).
func NewQueue(fac *model.Facility, jobs []*model.Job) *Queue {
	q := &Queue{prio: make(map[string]int, len(fac.PriorityClasses)), less: jobLess}
	if fac.Policy.Order == model.OrderShortestFirst {
		q.less = shortestFirst
	}
	for _, c := range fac.PriorityClasses {
		q.prio[c.Name] = c.Value
	}
	for _, j := range jobs {
		if j != nil {
			t := q.tenant(j)
			t.jobs = append(t.jobs, j)
			t.live++
			q.n++
		}
	}
	for _, l := range q.levels {
		for _, t := range l.tenants {
			sort.Slice(t.jobs, func(a, b int) bool { return q.less(t.jobs[a], t.jobs[b]) })
		}
	}
	return q
}

// tenant returns (creating if needed) the list j belongs to.
func (q *Queue) tenant(j *model.Job) *qtenant {
	v := q.prio[j.PriorityClass]
	i := sort.Search(len(q.levels), func(i int) bool { return q.levels[i].value <= v })
	if i == len(q.levels) || q.levels[i].value != v {
		q.levels = append(q.levels, nil)
		copy(q.levels[i+1:], q.levels[i:])
		q.levels[i] = &qlevel{value: v, index: map[string]*qtenant{}}
	}
	l := q.levels[i]
	t := l.index[j.Tenant]
	if t == nil {
		t = &qtenant{name: j.Tenant, less: q.less}
		l.index[j.Tenant] = t
		k := sort.Search(len(l.tenants), func(k int) bool { return l.tenants[k].name >= j.Tenant })
		l.tenants = append(l.tenants, nil)
		copy(l.tenants[k+1:], l.tenants[k:])
		l.tenants[k] = t
	}
	return t
}

func (q *Queue) index() {
	if q.where != nil {
		return
	}
	q.where = make(map[string]*model.Job, q.n)
	for _, l := range q.levels {
		for _, t := range l.tenants {
			for _, j := range t.jobs {
				if j != nil {
					q.where[j.ID] = j
				}
			}
		}
	}
}

// Len is the number of jobs in the queue.
func (q *Queue) Len() int { return q.n }

// Get returns the queued job with the given ID.
func (q *Queue) Get(id string) (*model.Job, bool) {
	q.index()
	j, ok := q.where[id]
	return j, ok
}

// Add queues j. It reports false, and changes nothing, when a job with
// the same ID is already queued.
func (q *Queue) Add(j *model.Job) bool {
	q.index()
	if j == nil || q.where[j.ID] != nil {
		return false
	}
	t := q.tenant(j)
	i := sort.Search(len(t.jobs), func(i int) bool { return t.jobs[i] != nil && !q.less(t.jobs[i], j) })
	for i < len(t.jobs) && t.jobs[i] == nil {
		i++
	}
	if i == len(t.jobs) {
		t.jobs = append(t.jobs, j)
	} else {
		t.jobs = append(t.jobs, nil)
		copy(t.jobs[i+1:], t.jobs[i:])
		t.jobs[i] = j
	}
	t.live++
	q.n++
	q.where[j.ID] = j
	return true
}

// Remove drops the job with the given ID; it reports whether it was
// queued.
func (q *Queue) Remove(id string) bool {
	q.index()
	j := q.where[id]
	if j == nil {
		return false
	}
	delete(q.where, id)
	t := q.tenant(j)
	for i, x := range t.jobs {
		if x == j {
			t.jobs[i] = nil
			break
		}
	}
	t.live--
	q.n--
	if t.live*2 < len(t.jobs) {
		live := t.jobs[:0]
		for _, x := range t.jobs {
			if x != nil {
				live = append(live, x)
			}
		}
		clear(t.jobs[len(live):])
		t.jobs = live
	}
	return true
}
