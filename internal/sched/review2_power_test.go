package sched_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// review2LowCapSnapshot: a facility whose LOWCAP model may be capped below
// its idle draw (min_cap_watts 50 < idle_watts 100: the facility
// validator accepts it). A job running capped at 50 W/GPU draws less than
// the idle GPUs it holds, so its end RAISES the site's load: free room in
// time is then not monotone, which earliest's gallop/binary search
// assumes and which firstEnoughGPUs (4ca5ce3) relies on when it moves the
// gallop's first probe.
//
// Site envelope 13 kW, one 8×H100 node (A) the pending job P (1×8 H100,
// needs 8×630 W = 5040 W of headroom, capping off) can use:
//
//	boundary 0 (+1h): R0 ends on B (A100)     load 8800 W, no H100 free
//	boundary 1 (+2h): R1 ends on A (H100)     load 7760 W, headroom 5240: fits
//	boundary 2 (+3h): R2 ends on C (LOWCAP@50) load 8160 W, headroom 4840: no
//	boundary 3 (+4h): R3 ends on D (A100)     load 5360 W: fits
//
// Probing every boundary (784f873, or shortcuts off) the gallop tries
// 0, 2, 3 and estimates +4h; starting at firstEnoughGPUs' boundary 1 (as
// b2522cd did) it tries 1 and estimates +2h. d0eb1e5 turns the bound off
// for such facilities and placements; this guards that.
func review2LowCapSnapshot() (*model.Snapshot, model.Time) {
	now := t0
	f := newFacility()
	f.GPUModels["LOWCAP"] = model.GPUModel{Name: "LOWCAP", Vendor: "x", MemoryGiB: 48, TDPWatts: 400, IdleWatts: 100,
		MinCapWatts: 50, MaxCapWatts: 400, BF16TFLOPS: 100, Source: "review"}
	f.Policy.PowerCapping = false
	f.Policy.Deferral = false
	f.Policy.Preemption = false
	f.Policy.Reclaim = false
	f.Policy.Quotas = false
	oneSite(f, 13)
	f.Nodes = []model.Node{
		makeNode("A", "s1").Model("H100", 8).Obj(),
		makeNode("B", "s1").Model("A100", 8).Obj(),
		makeNode("C", "s1").Model("LOWCAP", 8).Obj(),
		makeNode("D", "s1").Model("A100", 8).Obj(),
	}
	f.Tenants = []model.Tenant{{Name: "t1", FairShareWeight: 1}}
	f.PriorityClasses = []model.PriorityClass{{Name: "normal", Value: 50}}
	run := func(id, node string, gpus, capW int, ends model.Duration) model.Allocation {
		j := makeJob(id, "t1").Gang(1, gpus).Class("normal", false).Limit(ends + model.Hour).Obj()
		return allocation(j, now-model.Time(model.Hour), model.Placement{Node: node, GPUs: gpuRange(0, gpus), PowerCapW: capW})
	}
	snap := &model.Snapshot{Facility: f, Running: []model.Allocation{
		run("R0", "B", 1, 100, 1*model.Hour),
		run("R1", "A", 8, 200, 2*model.Hour),
		run("R2", "C", 8, 50, 3*model.Hour),
		run("R3", "D", 8, 0, 4*model.Hour),
	}}
	p := makeJob("P", "t1").Gang(1, 8).Class("normal", false).Models("H100").Limit(model.Hour).Submit(now - 60).Obj()
	snap.Pending = []*model.Job{p}
	return snap, now
}

// TestReview2ShortcutsWithCapsBelowIdle: the shortcuts (4ca5ce3's
// free-GPU bound) must not change the reservation when a job capped below
// idle ends between two boundaries the job fits at (failed at b2522cd:
// +2h instead of +4h).
func TestReview2ShortcutsWithCapsBelowIdle(t *testing.T) {
	snap, now := review2LowCapSnapshot()
	sched.SetShortcuts(false)
	want := sched.Schedule(snap, now)
	sched.SetShortcuts(true)
	got := sched.Schedule(snap, now)
	if len(got.Reservations) == 0 {
		t.Fatalf("no reservation; the scenario does not exercise the estimate: %+v", got)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("the shortcuts changed the plan (-without +with):\n%s", d)
	}
}

// TestReview2ShortcutsWithPlacementBelowIdle: the same with a model that
// cannot be capped below idle (min cap = idle) but a running placement
// that is (a cap below the model's range, as a snapshot may carry), and
// with Quick, whose kept view counts such placements as they arrive.
func TestReview2ShortcutsWithPlacementBelowIdle(t *testing.T) {
	snap, now := review2LowCapSnapshot()
	snap.Facility.GPUModels["LOWCAP"] = model.GPUModel{Name: "LOWCAP", Vendor: "x", MemoryGiB: 48, TDPWatts: 400, IdleWatts: 100,
		MinCapWatts: 100, MaxCapWatts: 400, BF16TFLOPS: 100, Source: "review"}
	sched.SetShortcuts(false)
	want := sched.Schedule(snap, now)
	sched.SetShortcuts(true)
	if len(want.Reservations) == 0 {
		t.Fatalf("no reservation; the scenario does not exercise the estimate: %+v", want)
	}
	if got := sched.Schedule(snap, now); !cmp.Equal(want, got) {
		t.Fatalf("Schedule: the shortcuts changed the plan (-without +with):\n%s", cmp.Diff(want, got))
	}
	// Quick: first without the capped job (C idle), then with it, so the
	// kept view learns of it by difference.
	q := sched.NewQueue(snap.Facility, snap.Pending)
	first := *snap
	first.Pending = nil
	first.Running = []model.Allocation{snap.Running[0], snap.Running[1], snap.Running[3]}
	sched.Quick(&first, q, now, 0)
	second := *snap
	second.Pending = nil
	got, _ := sched.Quick(&second, q, now, 0)
	if rebuilds, diffs := sched.QueueSyncs(q); rebuilds != 1 || diffs != 1 {
		t.Fatalf("the second pass did not update the view by difference (%d rebuilds, %d diffs)", rebuilds, diffs)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("Quick: the shortcuts changed the plan (-schedule without +quick with):\n%s", d)
	}
}
