package sched_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// quickReservation: one 8×H100 node, 6 GPUs held by R for another hour.
// Queued in order: big (2×8, never fits the node), next (8 GPUs, fits
// once R ends) and small (1 GPU, runs 2 h).
func quickReservation() (*model.Snapshot, model.Time) {
	now := t0
	f := newFacility()
	oneSite(f, 100)
	f.Policy.Quotas, f.Policy.Preemption, f.Policy.Reclaim, f.Policy.Deferral = false, false, false, false
	f.Policy.Power, f.Policy.FairShare = false, false
	f.Policy.BackfillDepth = 4
	f.Nodes = []model.Node{makeNode("n1", "s1").Obj()}
	f.Tenants = []model.Tenant{{Name: "a", FairShareWeight: 1}}
	f.PriorityClasses = []model.PriorityClass{{Name: "normal", Value: 50}}
	r := makeJob("R", "a").Gang(1, 6).Class("normal", false).Limit(2 * model.Hour).Obj()
	big := makeJob("big", "a").Gang(2, 8).Class("normal", false).Limit(model.Hour).Submit(now - 300).Obj()
	next := makeJob("next", "a").Gang(1, 8).Class("normal", false).Limit(model.Hour).Submit(now - 200).Obj()
	small := makeJob("small", "a").Gang(1, 1).Class("normal", false).Limit(2 * model.Hour).Submit(now - 100).Obj()
	return &model.Snapshot{Facility: f,
		Running: []model.Allocation{allocation(r, now-model.Time(model.Hour), model.Placement{Node: "n1", GPUs: gpuRange(0, 6)})},
		Pending: []*model.Job{big, next, small},
	}, now
}

// A quick pass, like a full one, gives the reservation to the first
// blocked job that can get one: an estimate that finds no start (big)
// does not use up its budget, or small would backfill into the GPUs
// next's reservation keeps (found by a harder property generator).
func TestQuickReservesPastAHopelessEstimate(t *testing.T) {
	snap, now := quickReservation()
	full := sched.Schedule(snap, now)
	q := sched.NewQueue(snap.Facility, snap.Pending)
	quick, _ := sched.Quick(snap, q, now, 3)
	if d := cmp.Diff(full.Starts, quick.Starts); d != "" {
		ft, _ := render(t, snap, &full)
		qt, _ := render(t, snap, &quick)
		t.Errorf("Quick(depth 3) starts differ from Schedule's (-schedule +quick):\n%s\nSchedule:\n%s\nQuick:\n%s", d, ft, qt)
	}
}
