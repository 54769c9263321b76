package sched_test

// A gang whose replicas each fit a capped rack but not together (found
// by a harder property generator).

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// rackGang: one site (100 kW). Node a is alone in rack r0 (uncapped);
// nodes b and c share rack r1, capped at 11 kW. A node draws 800 W plus
// 70 W per idle GPU and 700 W per busy one: r1 idle draws 2720 W, one
// 8-GPU replica on b or c raises it to 7760 W, two to 12800 W. Pending P
// is a 2×8 H100 gang (topology any, topology policy off): it fits on a
// and one node of r1, never on b and c together.
func rackGang() *model.Facility {
	f := newFacility()
	oneSite(f, 100)
	f.Policy.Quotas, f.Policy.Preemption, f.Policy.Reclaim, f.Policy.Deferral = false, false, false, false
	f.Policy.PowerCapping, f.Policy.PowerRecap, f.Policy.Topology, f.Policy.FairShare = false, false, false, false
	f.Racks = []model.Rack{
		{ID: "r0", Hall: "s1-h1", Cooling: model.CoolingLiquid},
		{ID: "r1", Hall: "s1-h1", Cooling: model.CoolingLiquid, PowerCapKW: 11},
	}
	f.Nodes = []model.Node{
		makeNode("a", "s1").Place("s1-h1", "r0").Obj(),
		makeNode("b", "s1").Place("s1-h1", "r1").Obj(),
		makeNode("c", "s1").Place("s1-h1", "r1").Obj(),
	}
	f.Tenants = []model.Tenant{{Name: "t", FairShareWeight: 1}}
	f.PriorityClasses = []model.PriorityClass{{Name: "normal", Value: 50}}
	return f
}

func rackGangJob() *model.Job {
	return makeJob("P", "t").Gang(2, 8).Class("normal", false).Obj()
}

// TestGangLeavesARackThatCannotPowerIt: nothing runs, yet P does not start: Find
// packs the gang into the smallest group with room, rack r1 (b, c);
// each replica passes Find's per-node power filter, the two together
// fail powerFor, and poweredGang retries only other sites. P waits with
// "power: starting would raise rack r1 IT load to 12.8 kW of 11.0 kW"
// and no estimated start, on an idle cluster where a+b or a+c fits.
func TestGangLeavesARackThatCannotPowerIt(t *testing.T) {
	snap := &model.Snapshot{Facility: rackGang(), Pending: []*model.Job{rackGangJob()}}
	p := sched.Schedule(snap, t0)
	text, _ := render(t, snap, &p)
	if len(p.Starts) != 1 {
		t.Errorf("P does not start on an idle cluster where a and one node of r1 hold it:\n%s", text)
	}
}

// rackGangPasses: two passes of one Queue, 6 minutes apart. First
// pass (00:00): R holds all of c until 00:36; P cannot start (b with c busy
// would take r1 to 12.8 kW) and its estimate fails at R's release (b+c
// again): the Queue keeps the hint "fits at no boundary". The second
// pass is at 00:06:24, where S (3×1 GPU on b, until +5h) and G
// (GPU-less on a, until +7h) have just started.
func rackGangPasses() (f *model.Facility, prev, cur *model.Snapshot, prevNow, now model.Time) {
	f = rackGang()
	prevNow, now = t0, t0+384
	r := makeJob("R", "t").Gang(1, 8).Class("normal", false).Limit(model.Hour).Obj()
	s := makeJob("S", "t").Gang(3, 1).Class("normal", false).Limit(5 * model.Hour).Obj()
	g := makeJob("G", "t").Gang(1, 0).Class("normal", false).Limit(7 * model.Hour).Obj()
	runR := allocation(r, prevNow-24*model.Time(model.Minute), model.Placement{Node: "c", GPUs: gpuRange(0, 8)})
	pj := rackGangJob()
	prev = &model.Snapshot{Facility: f, Running: []model.Allocation{runR}, Pending: []*model.Job{pj}}
	cur = &model.Snapshot{Facility: f, Pending: []*model.Job{pj}, Running: []model.Allocation{runR,
		allocation(s, now, model.Placement{Node: "b", GPUs: []int{0}}, model.Placement{Node: "b", GPUs: []int{1}}, model.Placement{Node: "b", GPUs: []int{2}}),
		allocation(g, now, model.Placement{Node: "a"}),
	}}
	return f, prev, cur, prevNow, now
}

// TestGangRackPowerQuickMatchesSchedule: in the second pass Schedule's gallop probes
// R's release (00:36) first: b has 5 GPUs free, Find takes a+c, which
// r1 powers (9.65 kW), and P is reserved from 00:36. Quick reads the
// kept hint (no boundary fits), probes only S's release and G's, where
// b is free again and Find takes b+c, which r1 cannot power, and
// concludes P fits at no boundary: no reservation. Fit is not monotone
// in time, which the hint (hint.go) assumes.
func TestGangRackPowerQuickMatchesSchedule(t *testing.T) {
	_, prev, cur, prevNow, now := rackGangPasses()
	secondQuickMatches(t, prev, prevNow, cur, now)
}

// secondQuickMatches runs Quick on one queue over prev, then over cur,
// and checks the second plan against Schedule's of cur: what the queue
// kept from the first pass must not change the answer.
func secondQuickMatches(t *testing.T, prev *model.Snapshot, prevNow model.Time, cur *model.Snapshot, now model.Time) {
	t.Helper()
	q := sched.NewQueue(cur.Facility, prev.Pending)
	first := *prev
	first.Pending = nil
	sched.Quick(&first, q, prevNow, 0)
	second := *cur
	second.Pending = nil
	got, _ := sched.Quick(&second, q, now, 0)
	want := sched.Schedule(cur, now)
	if d := cmp.Diff(want, got); d != "" {
		wt, _ := render(t, cur, &want)
		gt, _ := render(t, cur, &got)
		t.Errorf("Quick differs from Schedule (-schedule +quick):\n%s\nSchedule:\n%s\nQuick:\n%s", d, wt, gt)
	}
}
