package sched

import (
	"slices"
	"sort"

	"github.com/carnot-dc/carnot/internal/model"
)

// Queue holds pending jobs grouped the way a pass walks them: by priority
// class value, then by tenant, each tenant's jobs in the policy's order
// (queued time and ID, or shortest runtime limit first). Schedule builds one from the snapshot on every call. A driver
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
	// parked are queued jobs left out of the walk: they can never start
	// under the facility's quotas (see Quick). They count in Len.
	parked map[string]*model.Job
	// prep caches the facility-only part of a pass for Quick (rebuilt
	// when the snapshot's facility pointer changes; a facility must not
	// be modified in place).
	prep prepared
	base base            // the cluster view of the last snapshot Quick saw
	fsm  fsMem           // the memory passes build fair-share trees in
	seen map[string]bool // planned's, reused
	// recalls are the placements at their own caps the last pass planned
	// lent jobs on (recap.go)
	recalls recalls
	// stretch gives the latest starts the deadline lists are ordered by
	stretch *stretch
}

type qlevel struct {
	value   int
	tenants []*qtenant // by name
	index   map[string]*qtenant
	// due holds the level's jobs with a deadline and a runtime limit, by
	// latest start (Queue.stretch; then queued time and ID).
	due []*model.Job
}

// dueLess orders a level's deadline jobs by latest start, then as
// jobLess.
func (s *stretch) dueLess(a, b *model.Job) bool {
	if la, lb := s.latestStart(a), s.latestStart(b); la != lb {
		return la < lb
	}
	return jobLess(a, b)
}

// addDue puts j in its level's deadline list.
func (l *qlevel) addDue(s *stretch, j *model.Job) {
	if !hasDeadline(j) {
		return
	}
	i := sort.Search(len(l.due), func(i int) bool { return !s.dueLess(l.due[i], j) })
	l.due = append(l.due, nil)
	copy(l.due[i+1:], l.due[i:])
	l.due[i] = j
}

// removeDue takes j out of the deadline list.
func (l *qlevel) removeDue(s *stretch, j *model.Job) {
	if !hasDeadline(j) {
		return
	}
	// due is sorted by dueLess, a total order: j is where it would go
	i := sort.Search(len(l.due), func(i int) bool { return !s.dueLess(l.due[i], j) })
	if i < len(l.due) && l.due[i] == j {
		l.due = slices.Delete(l.due, i, i+1)
	}
}

// sortDue orders the level's deadline list by s.
func (l *qlevel) sortDue(s *stretch) {
	sort.Slice(l.due, func(a, b int) bool { return s.dueLess(l.due[a], l.due[b]) })
}

// restretch orders the deadline lists by the latest starts of fac, a
// facility the queue has not seen (its policy and GPU models may differ).
func (q *Queue) restretch(fac *model.Facility) {
	q.stretch = newStretch(fac)
	for _, l := range q.levels {
		l.sortDue(q.stretch)
	}
}

// qtenant is one tenant's jobs at one priority; removed jobs leave nil
// holes until the list is compacted.
type qtenant struct {
	less func(a, b *model.Job) bool
	name string
	jobs []*model.Job
	live int
}

// compact drops the holes removed jobs left.
func (t *qtenant) compact() {
	live := t.jobs[:0]
	for _, x := range t.jobs {
		if x != nil {
			live = append(live, x)
		}
	}
	clear(t.jobs[len(live):])
	t.jobs = live
}

// NewQueue groups jobs for fac's priority classes (an unknown class counts
// as value 0; the pass reports it as invalid).
func NewQueue(fac *model.Facility, jobs []*model.Job) *Queue {
	q := &Queue{prio: make(map[string]int, len(fac.PriorityClasses)), less: jobLess, stretch: newStretch(fac)}
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
			for _, j := range t.jobs {
				if hasDeadline(j) {
					l.due = append(l.due, j)
				}
			}
		}
		l.sortDue(q.stretch)
	}
	return q
}

// level returns (creating if needed) the priority level j belongs to.
func (q *Queue) level(j *model.Job) *qlevel {
	v := q.prio[j.PriorityClass]
	i := sort.Search(len(q.levels), func(i int) bool { return q.levels[i].value <= v })
	if i == len(q.levels) || q.levels[i].value != v {
		q.levels = append(q.levels, nil)
		copy(q.levels[i+1:], q.levels[i:])
		q.levels[i] = &qlevel{value: v, index: map[string]*qtenant{}}
	}
	return q.levels[i]
}

// tenant returns (creating if needed) the list j belongs to.
func (q *Queue) tenant(j *model.Job) *qtenant {
	l := q.level(j)
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
	q.list(j)
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
	if q.parked[id] != nil {
		delete(q.parked, id)
		q.n--
		return true
	}
	q.unlist(j)
	q.n--
	return true
}

// unlist takes j out of the lists a pass walks.
func (q *Queue) unlist(j *model.Job) {
	q.level(j).removeDue(q.stretch, j)
	t := q.tenant(j)
	for i, x := range t.jobs {
		if x == j {
			t.jobs[i] = nil
			break
		}
	}
	t.live--
	if t.live*2 < len(t.jobs) {
		t.compact()
	}
}

// list puts j, which where already holds, in the lists a pass walks.
func (q *Queue) list(j *model.Job) {
	t := q.tenant(j)
	if t.live < len(t.jobs) { // holes would break the binary search's order
		t.compact()
	}
	i := sort.Search(len(t.jobs), func(i int) bool { return !q.less(t.jobs[i], j) })
	if i == len(t.jobs) {
		t.jobs = append(t.jobs, j)
	} else {
		t.jobs = append(t.jobs, nil)
		copy(t.jobs[i+1:], t.jobs[i:])
		t.jobs[i] = j
	}
	t.live++
	q.level(j).addDue(q.stretch, j)
}

// park leaves a queued job out of the walk (it stays queued).
func (q *Queue) park(j *model.Job) {
	q.index()
	if q.where[j.ID] != j || q.parked[j.ID] != nil {
		return
	}
	if q.parked == nil {
		q.parked = map[string]*model.Job{}
	}
	q.unlist(j)
	q.parked[j.ID] = j
}

// unparkAll puts every parked job back in the walk.
func (q *Queue) unparkAll() {
	for _, j := range q.parked {
		q.list(j) // the lists are ordered by job, not by arrival
	}
	clear(q.parked)
}

// Parked is the number of queued jobs left out of the walk because they
// can never start under the facility's quotas.
func (q *Queue) Parked() int { return len(q.parked) }
