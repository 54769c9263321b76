package sched_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// cappedQueueSnap is one 8-GPU node (nameplate 6.4 kW; below it a start
// may be capped) and deadline jobs whose order by
// latest start turns over when the latest starts are planned at the
// lowest cap: at full speed short's latest start (+1h) comes before
// long's (+1h10m), at the lowest cap long's (−2h19m) before short's
// (+8m). All are within the urgency window and go first; only one fits.
func cappedQueueSnap(capping bool, envelopeKW float64) *model.Snapshot {
	f := newFacility()
	oneSite(f, envelopeKW)
	f.Tenants = []model.Tenant{{Name: "acme"}}
	f.Nodes = []model.Node{makeNode("n1", "s1").Obj()}
	f.Policy = model.Policy{Power: true, PowerCapping: capping, CappedSpeedExponent: 0.5, Sovereignty: true}
	snap := &model.Snapshot{Facility: f}
	for i, d := range []struct {
		id              string
		limit, deadline model.Duration
	}{{"short", model.Hour, 2 * model.Hour}, {"long", 4 * model.Hour, 5*model.Hour + 10*model.Minute}} {
		snap.Pending = append(snap.Pending, makeJob(d.id, "acme").Gang(1, 8).Limit(d.limit).
			Submit(t0+model.Time(i)).Window(0, t0.Add(d.deadline)).Obj())
	}
	for i := range 6 { // more deadline jobs, so that a stale order would hide some from a search
		snap.Pending = append(snap.Pending, makeJob(fmt.Sprintf("x%d", i), "acme").Gang(1, 8).Limit(model.Hour).
			Submit(t0+model.Time(10+i)).Window(0, t0.Add(model.Duration(3+i)*model.Hour)).Obj())
	}
	return snap
}

// TestUrgentAtTheLowestCap: with power capping on and an envelope below
// the nameplate, the job whose latest start at its lowest cap comes
// first goes first; with capping off, or an envelope that leaves room
// for every GPU at TDP, the one whose latest start at full speed does.
func TestUrgentAtTheLowestCap(t *testing.T) {
	for _, tc := range []struct {
		capping    bool
		envelopeKW float64
		want       string
	}{{false, 6.4, "short"}, {true, 6, "long"}, {true, 6.4, "short"}} {
		snap := cappedQueueSnap(tc.capping, tc.envelopeKW)
		p := sched.Schedule(snap, t0)
		if len(p.Starts) != 1 || p.Starts[0].Job != tc.want {
			t.Errorf("capping %v, envelope %g kW: starts %+v, want %s alone", tc.capping, tc.envelopeKW, p.Starts, tc.want)
		}
	}
}

// TestQueueSeesAnotherPolicy: a Queue built for one facility and handed
// a snapshot of another, whose policy caps and so orders the deadline
// jobs otherwise, plans as Schedule does, and still finds every job to
// remove.
func TestQueueSeesAnotherPolicy(t *testing.T) {
	off, on := cappedQueueSnap(false, 6), cappedQueueSnap(true, 6)
	q := sched.NewQueue(off.Facility, nil)
	for _, j := range on.Pending {
		q.Add(j)
	}
	bare := *on
	bare.Pending = nil
	got, _ := sched.Quick(&bare, q, t0, 0)
	if d := cmp.Diff(sched.Schedule(on, t0), got); d != "" {
		t.Fatalf("Quick on another facility differs from Schedule (-schedule +quick):\n%s", d)
	}
	for _, j := range on.Pending {
		if !q.Remove(j.ID) {
			t.Errorf("Remove(%s) did not find it", j.ID)
		}
	}
	if q.Len() != 0 {
		t.Errorf("%d jobs left", q.Len())
	}
}

// TestSlowestRunOracle: the core's cached latest starts equal
// model.SlowestRun, the obviously right one that plan.Verify
// checks deferrals with, on random facilities, jobs and exponents.
func TestSlowestRunOracle(t *testing.T) {
	stretched := 0
	for seed := uint64(0); seed < 200; seed++ {
		snap, _ := genSnapshot(seed)
		snap.Facility.Policy.CappedSpeedExponent = []float64{0, 0.5, 1, 0.37, 4}[seed%5]
		jobs := slices.Clone(snap.Pending)
		for _, a := range snap.Running {
			jobs = append(jobs, a.Job)
		}
		jobs = append(jobs, makeJob("any", "acme").Gang(1, 8).Limit(model.Day).Obj(),
			makeJob("cpu", "acme").Gang(1, 0).Limit(model.Hour).Obj(),
			makeJob("gone", "acme").Gang(1, 8).Models("X1", "A100").Limit(model.Hour).Obj())
		for _, j := range jobs {
			want := model.SlowestRun(j, snap.Facility.CappedSpeeds())
			if got := sched.SlowestRun(snap.Facility, j); got != want {
				t.Fatalf("seed %d: job %s (models %v, limit %s): core %s, model %s", seed, j.ID, j.GPUModels, j.RuntimeLimit, got, want)
			}
			if want > j.RuntimeLimit {
				stretched++
			}
		}
	}
	if stretched == 0 {
		t.Fatal("no job was stretched: the test compares nothing")
	}
}

// TestNoCapWhereEveryStartFitsAtTDP: the core starts a job capped only
// on a model that model.Facility.CappedSpeeds lists, on random snapshots
// (facilities with power capping on, every other one with each site's,
// hall's and rack's limit set to its nameplate). A start it capped anywhere else
// would run slower than the latest starts assume.
func TestNoCapWhereEveryStartFitsAtTDP(t *testing.T) {
	capped, roomy := 0, 0
	for seed := uint64(0); seed < 300; seed++ {
		snap, now := genSnapshot(seed)
		f := snap.Facility
		f.Policy.Power, f.Policy.PowerCapping = true, true
		if seed%2 == 1 { // every limit at its container's nameplate
			plate := map[string]float64{}
			for _, n := range f.Nodes {
				w := n.BaseWatts + float64(n.GPUs*f.GPUModels[n.GPUModel].TDPWatts)
				plate["s"+n.Site] += w
				plate["h"+n.Hall] += w
				plate["r"+n.Rack] += w
			}
			for i := range f.Sites {
				f.Sites[i].PowerEnvelopeKW = plate["s"+f.Sites[i].ID] / 1000
			}
			for i := range f.Halls {
				f.Halls[i].PowerCapKW = plate["h"+f.Halls[i].ID] / 1000
			}
			for i := range f.Racks {
				f.Racks[i].PowerCapKW = plate["r"+f.Racks[i].ID] / 1000
			}
		}
		speeds := f.CappedSpeeds()
		if len(speeds) == 0 {
			roomy++
		}
		models := map[string]string{}
		for _, n := range f.Nodes {
			models[n.Name] = n.GPUModel
		}
		p := sched.Schedule(snap, now)
		for _, s := range p.Starts {
			for _, r := range s.Replicas {
				if r.PowerCapW == 0 {
					continue
				}
				capped++
				if _, ok := speeds[models[r.Node]]; !ok {
					t.Fatalf("seed %d: %s starts capped at %d W on %s (%s), a model CappedSpeeds leaves out (%v)",
						seed, s.Job, r.PowerCapW, r.Node, models[r.Node], speeds)
				}
			}
		}
	}
	if capped == 0 || roomy == 0 {
		t.Fatalf("%d capped starts, %d facilities where none can be capped: the test checks nothing", capped, roomy)
	}
}
