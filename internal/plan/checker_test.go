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
// some running on power lent by a recap, and plans recap some of them,
// raising or lowering, with starts that fit only thanks to a lowering.
func TestCheckerAcrossSnapshots(t *testing.T) {
	nodes := []string{"n1", "n2", "n3", "nowhere"}
	powerSeen, recapSeen, lowerSeen := 0, 0, 0
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
				for i := range reps {
					if rng.IntN(2) == 0 { // raised by an earlier recap: lent power
						reps[i].StartCapW = 200 + rng.IntN(300)
					}
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
					r := model.Recap{Job: a.Job.ID, PowerCapW: []int{0, 0, 450, 600, 200}[rng.IntN(5)]}
					if own := maxStartCap(&a); own > 0 && rng.IntN(2) == 0 { // give lent power back
						r.PowerCapW = own
					}
					p.Recaps = append(p.Recaps, r)
				}
			}
			want, got := fmt.Sprint(plan.Verify(snap, p)), fmt.Sprint(chk.Verify(snap, p))
			if strings.Contains(want, "would draw") {
				powerSeen++
			}
			if strings.Contains(want, "recaps raise caps") {
				recapSeen++
			}
			if fitsByLowering(snap, p) {
				lowerSeen++
			}
			if got != want {
				t.Fatalf("seed %d step %d: the Checker says\n%s\nVerify says\n%s", seed, step, got, want)
			}
		}
	}
	if powerSeen == 0 || recapSeen == 0 || lowerSeen == 0 {
		t.Fatalf("%d power violations, %d of recaps, %d starts that fit by a lowering came up; the test does not exercise the loads",
			powerSeen, recapSeen, lowerSeen)
	}
}

// maxStartCap is the highest cap a replica of a started with, of those
// a recap raised since; 0 if none.
func maxStartCap(a *model.Allocation) int {
	w := 0
	for _, pl := range a.Replicas {
		w = max(w, pl.StartCapW)
	}
	return w
}

// fitsByLowering reports whether a start of p that Verify finds within
// the power limits would be a power violation without the recaps that
// lower a cap: it fits only on power they give back.
func fitsByLowering(snap *model.Snapshot, p *model.Plan) bool {
	alt := *p
	alt.Recaps = nil
	for _, r := range p.Recaps {
		if !lowers(snap, r) {
			alt.Recaps = append(alt.Recaps, r)
		}
	}
	if len(alt.Recaps) == len(p.Recaps) || len(p.Starts) == 0 {
		return false
	}
	started := map[string]bool{}
	for _, s := range p.Starts {
		started[s.Job] = true
	}
	blamed := func(p *model.Plan) map[string]bool {
		out := map[string]bool{}
		for _, v := range plan.Violations(plan.Verify(snap, p)) {
			if v.Code == plan.CodePower && started[v.Job] {
				out[v.Job] = true
			}
		}
		return out
	}
	with := blamed(p)
	for j := range blamed(&alt) {
		if !with[j] {
			return true
		}
	}
	return false
}

// lowers reports whether recap r lowers the cap of a replica of its job.
func lowers(snap *model.Snapshot, r model.Recap) bool {
	for _, a := range snap.Running {
		if a.Job == nil || a.Job.ID != r.Job || r.PowerCapW <= 0 {
			continue
		}
		for _, pl := range a.Replicas {
			if pl.PowerCapW == 0 || pl.PowerCapW > r.PowerCapW {
				return true
			}
		}
	}
	return false
}
