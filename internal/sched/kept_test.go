package sched_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// TestKeptIndexAndReleasesMatchFresh evolves stressed snapshots as the
// twin does (starts, ends, preemptions, arrivals, node states) and more:
// running deployments queued again to scale up (their allocation gets a
// new, longer Replicas slice in place), deployments scaling down,
// victims whose eviction moves or falls due, and now and then two
// allocations trading places. After every Quick pass, which must plan
// as Schedule does, the victim index and the release list its view
// keeps and updates by difference must equal the ones a pass builds
// from scratch, entry for entry and in order.
func TestKeptIndexAndReleasesMatchFresh(t *testing.T) {
	seeds := 200
	if testing.Short() {
		seeds = 40
	}
	steps, compared, scaled, moved, builds, updates := 0, 0, 0, 0, 0, 0
	for seed := uint64(0); seed < uint64(seeds); seed++ {
		cur, now, rng, queued, later, q := r2Begin(seed, 31337)
		parked := map[string]bool{}
		for step := 0; step < 12; step++ {
			steps++
			where := fmt.Sprintf("seed %d step %d", seed, step)
			got, _ := quickMatchesSchedule(t, &cur, q, queued, now, parked, where)
			ok, err := sched.KeptMatchesFresh(q, &cur, now)
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			if ok {
				compared++
			}
			got, queued = scaleUp(&cur, got, queued, q, &scaled)
			queued = r2Evolve(rng, &cur, got, queued, q, &later)
			moved += keptPerturb(rng, &cur, now, q, &queued)
			now = now.Add(model.Duration(rng.IntN(3600)))
		}
		b, u := sched.KeptCounts(q)
		builds, updates = builds+b, updates+u
	}
	t.Logf("%d passes, %d kept structures compared: %d built, %d updated by difference; %d deployments scaled up, %d allocations changed in place",
		steps, compared, builds, updates, scaled, moved)
	if compared < steps/2 || updates < compared/2 || scaled == 0 || moved == 0 {
		t.Fatal("the test does not exercise the kept structures")
	}
}

// scaleUp merges the plan's starts of running deployments into their
// allocations (a new Replicas slice, in place) and returns the plan
// without them, and the queue without those jobs.
func scaleUp(cur *model.Snapshot, got model.Plan, queued []*model.Job, q *sched.Queue, scaled *int) (model.Plan, []*model.Job) {
	rest := got.Starts[:0:0]
	for _, s := range got.Starts {
		i := slices.IndexFunc(cur.Running, func(a model.Allocation) bool { return a.Job != nil && a.Job.ID == s.Job })
		if i < 0 {
			rest = append(rest, s)
			continue
		}
		a := &cur.Running[i]
		a.Replicas = append(slices.Clone(a.Replicas), s.Replicas...)
		q.Remove(s.Job)
		queued = slices.DeleteFunc(queued, func(j *model.Job) bool { return j.ID == s.Job })
		*scaled++
	}
	got.Starts = rest
	return got, queued
}

// keptPerturb changes running allocations as drivers may: a deployment
// queued again to scale up, one scaled down (a shorter, new slice), a
// victim's eviction moved (sometimes into the past: overdue), two
// allocations trading places. It returns how many it changed.
func keptPerturb(rng *rand.Rand, cur *model.Snapshot, now model.Time, q *sched.Queue, queued *[]*model.Job) int {
	n := 0
	run := cur.Running
	for i := range run {
		a := &run[i]
		if a.Job == nil {
			continue
		}
		j := a.Job
		switch r := rng.IntN(12); {
		case r == 0 && j.Kind == model.KindDeployment && len(a.Replicas) < j.Replicas && !a.Terminating:
			if !slices.Contains(*queued, j) && q.Add(j) {
				*queued = append(*queued, j)
			}
		case r == 1 && j.Kind == model.KindDeployment && len(a.Replicas) > 1:
			a.Replicas = slices.Clone(a.Replicas[:len(a.Replicas)-1])
			n++
		case r == 2 && a.Terminating:
			a.EvictAt = now.Add(model.Duration(rng.IntN(7200) - 3600))
			n++
		case r == 3 && !a.Terminating && j.RuntimeLimit > 0 && rng.IntN(2) == 0:
			a.Started = now.Add(-j.RuntimeLimit - model.Duration(rng.IntN(600))) // overdue
			n++
		}
	}
	if len(run) > 1 && rng.IntN(8) == 0 {
		x, y := rng.IntN(len(run)), rng.IntN(len(run))
		run[x], run[y] = run[y], run[x]
		n++
	}
	return n
}
