package sched

import (
	"container/heap"

	"github.com/carnot-dc/carnot/internal/model"
)

// queue yields a Queue's jobs in scheduling order: priority class value
// (highest first); then, with fair share, the tenant with the lowest
// usage per weight, and without it the tenant whose next job comes first;
// then the policy's job order (queued time and ID, or shortest first). Usage changes as the pass
// starts jobs, so the next tenant is chosen lazily. The pass keeps its own
// cursors and never changes the Queue.
type queue struct {
	levels []*qlevel
	li     int
	h      tenantHeap
	fair   bool
	fs     *fairShares
	root   *fsNode // fair share: this level's tree
	leaf   *fsNode // fair share: the tenant last served
	// Jobs served before every level: those whose preemption victims
	// are still leaving or whose freed GPUs are claimed for them (see
	// pass.beneficiaries); the walk skips them afterwards.
	first []*model.Job
	fi    int
	// Jobs postponed to the end of their priority level (those that
	// would borrow quota) and the cursor of that second round; with
	// fair share, inLater says the second round's tree is being served
	// (see nextLater).
	later   []*model.Job
	li2     int
	inLater bool
	// The tenant last popped goes back into the heap on the next call,
	// after the caller has charged its start (if any) to its share.
	repush *cursor
	// Deadline jobs at their latest start (within urgencyWindow) go first
	// in their level, by latest start; the walk skips them afterwards.
	now    model.Time
	urgent []*model.Job
	ui     int
	st     *stretch // the Queue's
	done   map[*model.Job]bool
	// needRoot: the current level's fair-share tree is still to build.
	needRoot bool
	fsm      *fsMem                     // where the trees are built
	less     func(a, b *model.Job) bool // the policy's order within a tenant
}

// urgencyWindow is how close to its latest start (deadline − runtime
// limit, at the lowest cap when the policy may cap the job: capspeed.go)
// a job must be to go first in its priority level.
const urgencyWindow = model.Hour

// urgentOf lists level l's jobs whose latest start is at most
// urgencyWindow away (or past), earliest first.
func (q *queue) urgentOf(l *qlevel) []*model.Job {
	q.urgent, q.ui = q.urgent[:0], 0
	for _, j := range l.due {
		if q.st.latestStart(j) > q.now.Add(urgencyWindow) {
			break
		}
		q.urgent = append(q.urgent, j)
	}
	q.fsm.urgent = q.urgent // its memory, for the next pass
	if len(q.urgent) > 0 && q.done == nil {
		q.done = q.fsm.freshDone()
	}
	return q.urgent
}

// cursor walks one tenant's list for one pass.
type cursor struct {
	t    *qtenant
	next int
}

// head is the cursor's next job, skipping removed ones; nil at the end.
func (c *cursor) head() *model.Job {
	for c.next < len(c.t.jobs) && c.t.jobs[c.next] == nil {
		c.next++
	}
	if c.next == len(c.t.jobs) {
		return nil
	}
	return c.t.jobs[c.next]
}

// inFirst reports whether the job last returned was served from first:
// the walk reaches the first level (li 0) only once first is done.
func (q *queue) inFirst() bool { return q.li < 0 }

// retry puts j, served first as a beneficiary, back at its own turn in
// the walk (its level is still to come: the first round precedes them).
func (q *queue) retry(j *model.Job) { delete(q.done, j) }

// postpone moves j to the second round of the current priority level.
func (q *queue) postpone(j *model.Job) {
	if q.later == nil {
		q.later = q.fsm.postponed[:0]
	}
	q.later = append(q.later, j)
	q.fsm.postponed = q.later
}

type tenantHeap []*cursor

func (h tenantHeap) Len() int { return len(h) }
func (h tenantHeap) Less(i, j int) bool {
	a, b := h[i], h[j]
	ja, jb := a.head(), b.head()
	if ja.ID != jb.ID {
		return a.t.less(ja, jb)
	}
	return a.t.name < b.t.name
}
func (h tenantHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *tenantHeap) Push(x any)   { *h = append(*h, x.(*cursor)) }
func (h *tenantHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// shortestFirst orders jobs by runtime limit (none: last), then as
// jobLess.
func shortestFirst(a, b *model.Job) bool {
	if la, lb := limitOf(a), limitOf(b); la != lb {
		return la < lb
	}
	return jobLess(a, b)
}

// jobLess orders jobs by the time they were queued (to the second, then
// within it), then ID.
func jobLess(a, b *model.Job) bool {
	if qa, qb := queuedAt(a), queuedAt(b); qa != qb {
		return qa < qb
	}
	if a.SubmitOrder != b.SubmitOrder {
		return a.SubmitOrder < b.SubmitOrder
	}
	return a.ID < b.ID
}

// queuedAt is when a job joins the queue: its submit time, or its
// earliest start when that is later, as Slurm counts a job's age from
// the time it became eligible. A job that may not start yet gets no
// reservation and holds nothing (reason not-before); ordered by its
// submit time, it came before the job reserved meanwhile once it could
// start and took the reserved nodes, and the reserved start slipped by
// its runtime (testdata/sched/not_before_reservation.txt). Queued from
// its earliest start, it comes after the jobs queued before that and may
// backfill only where it delays none of their reservation. The key
// depends on the job alone, so a Queue's order stays fixed.
func queuedAt(j *model.Job) model.Time { return max(j.SubmitTime, j.EarliestStart) }

// walk starts a pass over src; fs holds the fair shares, charged by the
// pass as it starts jobs.
func walk(src *Queue, fair bool, fs *fairShares, now model.Time) *queue {
	return &queue{levels: src.levels, li: -1, fair: fair, fs: fs, now: now, fsm: &src.fsm, st: src.stretch, less: src.less, urgent: src.fsm.urgent[:0]}
}

// nextFair serves the current level's fair-share tree.
func (q *queue) nextFair() *model.Job {
	if q.leaf != nil {
		q.leaf.settle()
		q.leaf = nil
	}
	if q.root == nil {
		return nil
	}
	leaf := q.root.pick()
	if leaf == nil {
		return nil
	}
	j := leaf.cur.head()
	leaf.cur.next++
	q.leaf = leaf
	return j
}

// nextLater serves the second round of the current level: the jobs
// postponed in the order they were, or, with fair share, those postponed
// at their level's deadline turn (urgent) in that order and then the
// others by fair share, as in the first round, each start charged before
// the next choice. Served in postponement order, the tenant with the
// lowest share had every borrowing job of its own served first, since
// postponing charges nothing. Nothing is postponed during the second
// round, so the tree is built once.
func (q *queue) nextLater() *model.Job {
	if q.fair && !q.inLater && q.li2 < len(q.later) && !q.done[q.later[q.li2]] {
		q.inLater, q.root = true, nil // the urgent ones are served
		if rest := q.later[q.li2:]; !oneTenant(rest) {
			q.root = q.fsm.fairLevel(q.fs, q.fsm.laterLevel(rest, q.less))
			q.li2 = len(q.later)
		}
	}
	if q.li2 < len(q.later) {
		j := q.later[q.li2]
		q.li2++
		return j
	}
	if q.root != nil && q.inLater {
		return q.nextFair()
	}
	return nil
}

// oneTenant reports whether jobs are all of one tenant (fair share then
// keeps their order).
func oneTenant(jobs []*model.Job) bool {
	for _, j := range jobs[1:] {
		if j.Tenant != jobs[0].Tenant {
			return false
		}
	}
	return true
}

// next returns the next job and whether it comes from the second round,
// or nil when the queue is exhausted.
func (q *queue) next() (*model.Job, bool) {
	if q.repush != nil {
		if q.repush.head() != nil {
			heap.Push(&q.h, q.repush)
		}
		q.repush = nil
	}
	for {
		if q.fi < len(q.first) {
			j := q.first[q.fi]
			q.fi++
			if q.done == nil {
				q.done = q.fsm.freshDone()
			}
			q.done[j] = true
			return j, true // its quota is what its victims give back: never postponed
		}
		if q.ui < len(q.urgent) {
			j := q.urgent[q.ui]
			q.ui++
			if q.done[j] {
				continue // served first as a beneficiary
			}
			q.done[j] = true
			return j, false
		}
		if q.needRoot {
			q.root, q.needRoot = q.fsm.fairLevel(q.fs, q.levels[q.li]), false
		}
		if q.fair && !q.inLater {
			if j := q.nextFair(); j != nil {
				if q.done[j] {
					continue // served first as urgent
				}
				return j, false
			}
		} else if !q.fair && len(q.h) > 0 {
			c := heap.Pop(&q.h).(*cursor)
			j := c.head()
			c.next++
			if q.done[j] {
				if c.head() != nil {
					heap.Push(&q.h, c)
				}
				continue
			}
			q.repush = c
			return j, false
		}
		if j := q.nextLater(); j != nil {
			return j, true
		}
		q.later, q.li2, q.inLater = q.later[:0], 0, false
		q.li++
		if q.li >= len(q.levels) {
			return nil, false
		}
		q.urgentOf(q.levels[q.li])
		if q.fair {
			// the level's fair-share tree is built once its urgent jobs
			// are served, with the shares their starts changed
			q.root, q.needRoot = nil, true
			continue
		}
		q.h = q.h[:0]
		ts := q.levels[q.li].tenants
		cs := make([]cursor, len(ts)) // one allocation for the level
		for i, t := range ts {
			cs[i] = cursor{t: t}
			if c := &cs[i]; c.head() != nil {
				q.h = append(q.h, c)
			}
		}
		heap.Init(&q.h)
	}
}
