package sched_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
	"github.com/carnot-dc/carnot/internal/sched"
)

// TestPropertyRandomSnapshots runs the core on random facilities and
// workloads and checks, for each seed:
//
//   - plan.Verify accepts the plan (capacity never exceeded, gangs all or
//     nothing, placements only in allowed jurisdictions, power envelopes
//     and caps kept, no dirty GPU crossing tenants, every job accounted for);
//   - the core leaves the snapshot unchanged;
//   - two calls render byte-identical text and JSON;
//   - reordering Pending and Running does not change the plan.
//
// A failure names the seed; rerun one with -run 'TestPropertyRandomSnapshots/seed=N'.
func TestPropertyRandomSnapshots(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 50
	}
	var total model.Plan // counts only, to show what the seeds exercised
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			p := checkSeed(t, seed)
			total.Starts = append(total.Starts, p.Starts...)
			total.Preemptions = append(total.Preemptions, p.Preemptions...)
			total.Deferrals = append(total.Deferrals, p.Deferrals...)
			total.Reservations = append(total.Reservations, p.Reservations...)
			total.Pending = append(total.Pending, p.Pending...)
		})
	}
	partial := 0
	for i := range total.Preemptions {
		if total.Preemptions[i].Partial() {
			partial++
		}
	}
	t.Logf("%d seeds: %d starts, %d preemptions (%d partial), %d deferrals, %d reservations, %d pending",
		seeds, len(total.Starts), len(total.Preemptions), partial, len(total.Deferrals), len(total.Reservations), len(total.Pending))
}

func checkSeed(t *testing.T, seed uint64) model.Plan {
	snap, now := genSnapshot(seed)
	want, _ := genSnapshot(seed) // an untouched twin
	p, err := schedSafely(snap, now)
	if err != nil {
		t.Fatalf("seed %d (%s): %v", seed, describe(snap), err)
	}
	text, js := render(t, snap, &p)
	if err := plan.Verify(snap, &p); err != nil {
		t.Errorf("seed %d (%s): plan fails plan.Verify:\n%v\nplan:\n%s", seed, describe(snap), err, text)
	}
	if diff := cmp.Diff(want, snap); diff != "" {
		t.Errorf("seed %d: Schedule mutated the snapshot (-before +after):\n%s", seed, diff)
	}
	p2, err := schedSafely(snap, now)
	if err != nil {
		t.Fatalf("seed %d: second call: %v", seed, err)
	}
	text2, js2 := render(t, snap, &p2)
	if text2 != text || js2 != js {
		t.Errorf("seed %d: two calls differ:\n%s", seed, cmp.Diff(text, text2))
	}
	r := rand.New(rand.NewPCG(seed, 7))
	shuffled := cloneSnapshot(snap)
	r.Shuffle(len(shuffled.Pending), func(i, j int) { shuffled.Pending[i], shuffled.Pending[j] = shuffled.Pending[j], shuffled.Pending[i] })
	r.Shuffle(len(shuffled.Running), func(i, j int) { shuffled.Running[i], shuffled.Running[j] = shuffled.Running[j], shuffled.Running[i] })
	shuffled.Usage = slices.Clone(shuffled.Usage)
	r.Shuffle(len(shuffled.Usage), func(i, j int) { shuffled.Usage[i], shuffled.Usage[j] = shuffled.Usage[j], shuffled.Usage[i] })
	p3, err := schedSafely(shuffled, now)
	if err != nil {
		t.Fatalf("seed %d: shuffled snapshot: %v", seed, err)
	}
	if _, js3 := render(t, shuffled, &p3); js3 != js {
		t.Errorf("seed %d: shuffling Pending, Running and Usage changes the plan (-original +shuffled):\n%s", seed, cmp.Diff(js, js3))
	}
	return p
}

// schedSafely turns a panic in the core into an error naming it.
func schedSafely(snap *model.Snapshot, now model.Time) (p model.Plan, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("Schedule panicked: %v", r)
		}
	}()
	return sched.Schedule(snap, now), nil
}

func render(t *testing.T, snap *model.Snapshot, p *model.Plan) (text, js string) {
	t.Helper()
	var a, b bytes.Buffer
	if err := plan.WriteText(&a, snap, p); err != nil {
		t.Fatal(err)
	}
	if err := plan.WriteJSON(&b, p); err != nil {
		t.Fatal(err)
	}
	return a.String(), b.String()
}

// TestPropertyGeneratorIsValid checks the generator itself: its running
// work is valid (replayed as one plan against an empty cluster) and it
// produces enough variety to be worth running.
func TestPropertyGeneratorIsValid(t *testing.T) {
	var running, pending, sites, terminating int
	for seed := uint64(1); seed <= 50; seed++ {
		snap, now := genSnapshot(seed)
		running += len(snap.Running)
		pending += len(snap.Pending)
		sites += len(snap.Facility.Sites)
		empty := *snap
		empty.Running, empty.Pending = nil, nil
		replay := model.Plan{Now: now}
		for _, a := range snap.Running {
			terminating += map[bool]int{true: 1}[a.Terminating]
			empty.Pending = append(empty.Pending, a.Job)
			replay.Starts = append(replay.Starts, model.Start{Job: a.Job.ID, Replicas: a.Replicas})
		}
		// Power may be over now that some envelopes are tight and the
		// running set was built one job at a time under the same rule, so
		// only structural violations matter here.
		for _, v := range plan.Violations(plan.Verify(&empty, &replay)) {
			if v.Code != plan.CodePower && v.Code != plan.CodeGang && v.Code != plan.CodeNotBefore {
				t.Errorf("seed %d: generated running work is invalid: %v", seed, v)
			}
		}
	}
	if running < 50 || pending < 100 || sites < 75 || terminating == 0 {
		t.Errorf("generator too poor over 50 seeds: %d running, %d pending, %d sites, %d terminating", running, pending, sites, terminating)
	}
}
