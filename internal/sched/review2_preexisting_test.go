package sched_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// Two ways Quick (depth 0) parted from Schedule on invalid snapshots,
// found in a review and older than the code it reviewed: the kept view
// now rebuilds from such snapshots until they are clean (base.fragile).

func review2OneNode() *model.Snapshot {
	f := newFacility()
	f.Policy.Quotas, f.Policy.Preemption, f.Policy.Reclaim, f.Policy.Deferral, f.Policy.Power = false, false, false, false, false
	f.Sites = []model.Site{{ID: "s1", Name: "s1", Country: "FR", Jurisdictions: []string{"EU"}, PUE: 1.2, GridZone: "FR"}}
	f.Halls = []model.Hall{{ID: "s1-h1", Site: "s1"}}
	f.Racks = []model.Rack{{ID: "s1-r1", Hall: "s1-h1"}}
	f.Nodes = []model.Node{makeNode("n1", "s1").Obj()}
	f.Tenants = []model.Tenant{{Name: "t1", FairShareWeight: 1}, {Name: "t2", FairShareWeight: 1}}
	f.PriorityClasses = []model.PriorityClass{{Name: "normal", Value: 50}}
	return &model.Snapshot{Facility: f}
}

// TestReview2QuickNodeListedTwice: a node listed twice in snap.Nodes.
// NewFrom gives a GPU the restriction of the FIRST entry that restricts
// it (dirty to t1 here); the kept view's rebuild indexes the LAST entry
// (base.state), and restate's fast path (sameNodes: the list did not
// change) skips its "listed twice → rebuild" check and, since an entry
// has a claim, calls SetState with the last entry (claimed for a job that
// is not pending: clean). The second Quick pass then starts t2's job on
// GPUs a fresh Schedule keeps for t1.
func TestReview2QuickNodeListedTwice(t *testing.T) {
	snap := review2OneNode()
	now := t0
	dirty, claimed := make([]model.GPUState, 8), make([]model.GPUState, 8)
	for g := range dirty {
		dirty[g] = model.GPUState{Dirty: true, LastTenant: "t1"}
		claimed[g] = model.GPUState{ClaimedBy: "gone"}
	}
	snap.Nodes = []model.NodeState{{Node: "n1", Condition: model.NodeUp, GPUs: dirty}, {Node: "n1", Condition: model.NodeUp, GPUs: claimed}}
	j := makeJob("P", "t2").Gang(1, 8).Class("normal", false).Obj()
	q := sched.NewQueue(snap.Facility, []*model.Job{j})
	full := *snap
	full.Pending = []*model.Job{j}
	want := sched.Schedule(&full, now)
	for pass := 0; pass < 2; pass++ {
		got, _ := sched.Quick(snap, q, now, 0)
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("pass %d: Quick differs from Schedule (-schedule +quick):\n%s", pass, d)
		}
	}
}

// TestReview2QuickOverlapEnds: two running allocations hold the same GPU
// (an overlapping snapshot). base.diff rebuilds when an allocation
// overlaps one already in the view, but when one of the two ends it
// releases the GPU although the other still holds it; a fresh build
// keeps it busy. Quick then starts P on GPU 0, which B holds.
func TestReview2QuickOverlapEnds(t *testing.T) {
	snap := review2OneNode()
	now := t0
	a := makeJob("A", "t1").Gang(1, 8).Class("normal", false).Obj()
	b := makeJob("B", "t1").Gang(1, 1).Class("normal", false).Obj()
	snap.Running = []model.Allocation{
		allocation(a, now-60, model.Placement{Node: "n1", GPUs: gpuRange(0, 8)}),
		allocation(b, now-60, model.Placement{Node: "n1", GPUs: []int{0}}),
	}
	j := makeJob("P", "t1").Gang(1, 8).Class("normal", false).Obj()
	q := sched.NewQueue(snap.Facility, []*model.Job{j})
	if got, _ := sched.Quick(snap, q, now, 0); len(got.Starts) != 0 {
		t.Fatalf("P started on a full node: %+v", got.Starts)
	}
	next := *snap
	next.Running = []model.Allocation{snap.Running[1]} // A ended; B still holds GPU 0
	full := next
	full.Pending = []*model.Job{j}
	want := sched.Schedule(&full, now)
	got, _ := sched.Quick(&next, q, now, 0)
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("Quick differs from Schedule (-schedule +quick):\n%s", d)
	}
}
