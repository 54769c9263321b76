package plan_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
)

// TestSiteLoadsMatchPowerW: the differential load Verify computes for the
// sites a plan touches equals the reference formula (PowerW) before and
// after the plan, on random running work, caps (some raised by earlier
// recaps: lent power), recaps that raise or lower, duplicate GPUs and
// down nodes.
func TestSiteLoadsMatchPowerW(t *testing.T) {
	lowered := 0 // plans that leave a site drawing less than before
	for seed := uint64(0); seed < 300; seed++ {
		rng := rand.New(rand.NewPCG(seed, 5))
		snap, p := fixture()
		nodes := []string{"n1", "n2", "n3"}
		snap.Running = nil
		p.Starts = nil
		place := func() model.Placement {
			pl := model.Placement{Node: nodes[rng.IntN(3)]}
			for g := 0; g < 8; g++ {
				if rng.IntN(3) == 0 {
					pl.GPUs = append(pl.GPUs, g)
				}
			}
			if rng.IntN(2) == 0 {
				pl.PowerCapW = 200 + rng.IntN(200)
			}
			if rng.IntN(2) == 0 { // lent power: a recap raised it
				pl.StartCapW, pl.PowerCapW = 100+rng.IntN(100), []int{0, 300 + rng.IntN(300)}[rng.IntN(2)]
			}
			return pl
		}
		for k := rng.IntN(6); k > 0; k-- {
			id := fmt.Sprintf("r%d", rng.IntN(4)) // at times a job with two allocations
			snap.Running = append(snap.Running, model.Allocation{Job: job(id, "beta", 1, 1), Replicas: []model.Placement{place()}})
		}
		for k := rng.IntN(4); k > 0; k-- {
			p.Starts = append(p.Starts, model.Start{Job: "j1", Replicas: []model.Placement{place()}})
		}
		for k := rng.IntN(4); k > 0; k-- { // recaps, valid or not: the loads count the first of each job
			p.Recaps = append(p.Recaps, model.Recap{Job: fmt.Sprintf("r%d", rng.IntN(5)), PowerCapW: []int{0, 150, 250, 450, 700}[rng.IntN(5)]})
		}
		if rng.IntN(3) == 0 {
			snap.Nodes = []model.NodeState{{Node: nodes[rng.IntN(3)], Condition: model.NodeDown}}
		}
		before, after := plan.SiteLoads(snap, p, "par", "fra")
		wantBefore, wantAfter := plan.PowerW(snap, nil), plan.PowerW(snap, p)
		if wantAfter.Site["par"] < wantBefore.Site["par"] || wantAfter.Site["fra"] < wantBefore.Site["fra"] {
			lowered++
		}
		for _, c := range []struct {
			name      string
			got, want map[string]float64
		}{
			{"site before", before.Site, wantBefore.Site}, {"site after", after.Site, wantAfter.Site},
			{"hall before", before.Hall, wantBefore.Hall}, {"hall after", after.Hall, wantAfter.Hall},
			{"rack before", before.Rack, wantBefore.Rack}, {"rack after", after.Rack, wantAfter.Rack},
		} {
			for id, w := range c.want {
				if math.Abs(c.got[id]-w) > 1e-6 {
					t.Fatalf("seed %d: %s %s: %.3f W, PowerW says %.3f W", seed, c.name, id, c.got[id], w)
				}
			}
		}
	}
	if lowered < 20 {
		t.Errorf("%d plans lowered a site's load; the test does not exercise recaps that give power back", lowered)
	}
}
