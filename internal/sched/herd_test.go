package sched_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
	"github.com/carnot-dc/carnot/internal/sched"
)

// TestHerdCountsMatchNaive: the counts booking decides by (herd.go's
// index by start) equal naive ones that scan every release and booking,
// in full passes and in quick ones on a kept view; on the random
// snapshots as drawn, and with deferral on and most pending jobs
// flexible, so that many book.
func TestHerdCountsMatchNaive(t *testing.T) {
	c := sched.SetCheckHerd(true)
	defer sched.SetCheckHerd(false)
	check := func(seed uint64) func(*model.Snapshot, model.Time) {
		return func(snap *model.Snapshot, now model.Time) {
			sched.Schedule(snap, now)
			q := sched.NewQueue(snap.Facility, snap.Pending)
			bare := *snap
			bare.Pending = nil
			sched.Quick(&bare, q, now, 0)
			if c.Wrong != "" {
				t.Fatalf("seed %d: %s", seed, c.Wrong)
			}
		}
	}
	for seed := uint64(0); seed < 200; seed++ {
		check(seed)(genSnapshot(seed))
		check(seed)(flexSnapshot(seed))
	}
	t.Logf("%d questions, %d with bookings", c.Questions, c.Booked)
	if c.Booked < 1000 {
		t.Fatalf("only %d questions met a booking; the test exercises too little", c.Booked)
	}
}

// flexSnapshot is genSnapshot(seed) with deferral on and three in four
// pending jobs that may start now flexible, so that many book.
func flexSnapshot(seed uint64) (*model.Snapshot, model.Time) {
	snap, now := genSnapshot(seed)
	fac := *snap.Facility
	fac.Policy.Deferral = true
	snap.Facility = &fac
	pending := snap.Pending
	snap.Pending = nil
	for i, j := range pending {
		if j.EarliestStart <= now && i%4 != 0 {
			c := *j
			c.RuntimeLimit = max(c.RuntimeLimit, model.Hour)
			c.Deadline = now.Add(c.RuntimeLimit + model.Duration(4+i%12)*model.Hour)
			j = &c
		}
		snap.Pending = append(snap.Pending, j)
	}
	return snap, now
}

// TestBookingQuickIsAPrefix: with booking, a quick pass defers the jobs
// it considers as the full pass does (it counts the bookings of the jobs
// before them, which it considers too) and starts them alike; plan.Verify
// accepts the full plans.
func TestBookingQuickIsAPrefix(t *testing.T) {
	deferrals := 0
	for seed := uint64(0); seed < 200; seed++ {
		snap, now := flexSnapshot(seed)
		full := sched.Schedule(snap, now)
		if err := plan.Verify(snap, &full); err != nil {
			t.Fatalf("seed %d: plan fails plan.Verify:\n%v", seed, err)
		}
		bare := *snap
		bare.Pending = nil
		for _, depth := range []int{1, 3, 8} {
			q := sched.NewQueue(snap.Facility, snap.Pending)
			quick, considered := sched.Quick(&bare, q, now, depth)
			in := map[string]bool{}
			for _, j := range considered {
				in[j.ID] = true
			}
			var want []model.Deferral
			for _, d := range full.Deferrals {
				if in[d.Job] {
					want = append(want, d)
				}
			}
			if d := cmp.Diff(want, quick.Deferrals); d != "" {
				t.Fatalf("seed %d depth %d: quick deferrals differ from the full pass's (-full +quick):\n%s", seed, depth, d)
			}
			var wantS []model.Start
			for _, s := range full.Starts {
				if in[s.Job] {
					wantS = append(wantS, s)
				}
			}
			if d := cmp.Diff(wantS, quick.Starts); d != "" {
				t.Fatalf("seed %d depth %d: quick starts differ (-full +quick):\n%s", seed, depth, d)
			}
			deferrals += len(want)
		}
	}
	if deferrals == 0 {
		t.Fatal("no deferral compared; the test exercises nothing")
	}
	t.Logf("%d deferrals compared", deferrals)
}
