package sched_test

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
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
	check := func(seed uint64, snap *model.Snapshot, now model.Time) {
		t.Helper()
		sched.Schedule(snap, now)
		q := sched.NewQueue(snap.Facility, snap.Pending)
		bare := *snap
		bare.Pending = nil
		sched.Quick(&bare, q, now, 0)
		if c.Wrong != "" {
			t.Fatalf("seed %d: %s", seed, c.Wrong)
		}
	}
	for seed := uint64(0); seed < 200; seed++ {
		snap, now := genSnapshot(seed)
		check(seed, snap, now)
		flex := *snap
		fac := *snap.Facility
		fac.Policy.Deferral = true
		flex.Facility = &fac
		flex.Pending = nil
		for i, j := range snap.Pending {
			if j.EarliestStart <= now && i%4 != 0 {
				c := *j
				c.RuntimeLimit = max(c.RuntimeLimit, model.Hour)
				c.Deadline = now.Add(c.RuntimeLimit + model.Duration(4+i%12)*model.Hour)
				j = &c
			}
			flex.Pending = append(flex.Pending, j)
		}
		check(seed, &flex, now)
	}
	t.Logf("%d questions, %d with bookings", c.Questions, c.Booked)
	if c.Booked < 1000 {
		t.Fatalf("only %d questions met a booking; the test exercises too little", c.Booked)
	}
}
