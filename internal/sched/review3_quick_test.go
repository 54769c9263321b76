package sched_test

// Ways Quick (depth 0) parts from Schedule, found by the differential
// run of a review of 8ad3966..0b9a05b (old and new Quick plans compared
// over 9,000 random evolving snapshot sequences) and older than the
// code it reviewed: they fail at 166e102 too.

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// TestReview3QuickDuplicateTenantExclusive: a facility that lists tenant
// t1 twice, node-exclusive first and not the second time (r2Stress makes
// such duplicates). A fresh build (place.NewFrom) takes the last entry:
// t1 is not node-exclusive. The kept view's own map (base.excl, made in
// base.rebuild) marks t1 node-exclusive if any entry is, and base.alloc
// and Retally use it for allocations added by difference. After A of t1
// starts on n1, the second Quick pass keeps t2's job off n1 ("1 nodes
// excluded by exclusive") where Schedule starts it there. Found by the
// differential run; it is
// older than 166e102 (base.excl is unchanged by 8ad3966..0b9a05b).
// Fixed: base.excl takes the last entry too.
func TestReview3QuickDuplicateTenantExclusive(t *testing.T) {
	snap := review2OneNode()
	f := snap.Facility
	f.Tenants = []model.Tenant{
		{Name: "t1", FairShareWeight: 1, Exclusive: model.ExclusiveNode},
		{Name: "t1", FairShareWeight: 1},
		{Name: "t2", FairShareWeight: 1},
	}
	now := t0
	a := makeJob("A", "t1").Gang(1, 4).Class("normal", false).Obj()
	p := makeJob("P", "t2").Gang(1, 4).Class("normal", false).Obj()
	q := sched.NewQueue(f, []*model.Job{p})
	pass := func(s *model.Snapshot) {
		t.Helper()
		full := *s
		full.Pending = []*model.Job{p}
		want := sched.Schedule(&full, now)
		got, _ := sched.Quick(s, q, now, 0)
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("Quick differs from Schedule (-schedule +quick):\n%s", d)
		}
	}
	pass(snap) // nothing runs: the view is built
	next := *snap
	next.Running = []model.Allocation{allocation(a, now-60, model.Placement{Node: "n1", GPUs: gpuRange(0, 4)})}
	pass(&next) // A added to the view by difference
}

// TestReview3QuickTwoJobValuesOneIDEnds: a snapshot runs deployment D as
// two allocations whose jobs are two values with one ID (diff gives up
// and the view is rebuilt; rebuild's add leaves byID at the second
// holding). In the next snapshot the second allocation has ended: drop
// deletes byID[D] although the first holding still runs D, so the pass's
// running lookup (tally.running) no longer finds D. Quick then scales D
// up by 3 replicas as if none ran; Schedule, seeing one running, starts
// 2. Found by the differential run; older than 166e102. Fixed: such a
// snapshot makes the view fragile (rebuilt until clean).
func TestReview3QuickTwoJobValuesOneIDEnds(t *testing.T) {
	snap := review2OneNode()
	now := t0
	d := makeJob("D", "t1").Deployment(3, 1, 1).Class("normal", false).Obj()
	d2 := *d // the same ID, another job value
	snap.Running = []model.Allocation{
		allocation(d, now-60, model.Placement{Node: "n1", GPUs: []int{0}}),
		allocation(&d2, now-60, model.Placement{Node: "n1", GPUs: []int{1}}),
	}
	q := sched.NewQueue(snap.Facility, []*model.Job{d}) // queued again to scale up
	pass := func(s *model.Snapshot) {
		t.Helper()
		full := *s
		full.Pending = []*model.Job{d}
		want := sched.Schedule(&full, now)
		got, _ := sched.Quick(s, q, now, 0)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("Quick differs from Schedule (-schedule +quick):\n%s", diff)
		}
	}
	pass(snap)
	next := *snap
	next.Running = snap.Running[:1] // the second value's allocation ended
	pass(&next)
}
