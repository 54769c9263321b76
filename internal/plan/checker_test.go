package plan_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
)

// TestCheckerAcrossSnapshots: a Checker that verifies one snapshot after
// another, keeping what it learnt of the last one's running placements,
// answers every time as a fresh Verify does, while allocations end,
// start (with new slices), stay (with the same slices) and are reordered,
// and plans recap some of them.
func TestCheckerAcrossSnapshots(t *testing.T) {
	nodes := []string{"n1", "n2", "n3", "nowhere"}
	powerSeen, recapSeen := 0, 0
	for seed := uint64(0); seed < 200; seed++ {
		rng := rand.New(rand.NewPCG(seed, 11))
		snap, p := fixture()
		snap.Facility.Sites[0].PowerEnvelopeKW = float64(5 + rng.IntN(20)) // starts often go over
		chk := plan.NewChecker(snap.Facility)
		place := func() model.Placement {
			pl := model.Placement{Node: nodes[rng.IntN(len(nodes))]}
			for g := 0; g < 8; g++ {
				if rng.IntN(3) == 0 {
					pl.GPUs = append(pl.GPUs, g)
				}
			}
			if rng.IntN(3) == 0 {
				pl.PowerCapW = 200 + rng.IntN(500)
			}
			return pl
		}
		var running []model.Allocation
		for step := 0; step < 25; step++ {
			next := running[:0:0]
			for _, a := range running {
				if rng.IntN(5) > 0 { // stays, same slice
					next = append(next, a)
				}
			}
			for k := rng.IntN(3); k > 0; k-- {
				reps := []model.Placement{place()}
				if rng.IntN(3) == 0 {
					reps = append(reps, place())
				}
				next = append(next, model.Allocation{Job: job(fmt.Sprintf("r%d-%d", step, k), "beta", len(reps), 2), Replicas: reps})
			}
			if len(next) > 1 && rng.IntN(4) == 0 {
				i, j := rng.IntN(len(next)), rng.IntN(len(next))
				next[i], next[j] = next[j], next[i]
			}
			running = next
			snap.Running = append([]model.Allocation(nil), running...)
			p.Starts, p.Recaps = nil, nil
			for k := rng.IntN(3); k > 0; k-- {
				p.Starts = append(p.Starts, model.Start{Job: "j1", Replicas: []model.Placement{place(), place()}})
			}
			for _, a := range running {
				if rng.IntN(3) == 0 {
					p.Recaps = append(p.Recaps, model.Recap{Job: a.Job.ID, PowerCapW: []int{0, 0, 450, 600}[rng.IntN(4)]})
				}
			}
			want, got := fmt.Sprint(plan.Verify(snap, p)), fmt.Sprint(chk.Verify(snap, p))
			if strings.Contains(want, "would draw") {
				powerSeen++
			}
			if strings.Contains(want, "recaps raise caps") {
				recapSeen++
			}
			if got != want {
				t.Fatalf("seed %d step %d: the Checker says\n%s\nVerify says\n%s", seed, step, got, want)
			}
		}
	}
	if powerSeen == 0 || recapSeen == 0 {
		t.Fatalf("%d power violations, %d of recaps came up; the test does not exercise the loads", powerSeen, recapSeen)
	}
}
