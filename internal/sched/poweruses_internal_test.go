package sched

import (
	"math/rand/v2"
	"testing"

	"github.com/carnot-dc/carnot/internal/sched/place"
)

// TestPowerUsesSumByContainer checks powerUses.add and addLast against a
// plain walk:
// one entry per container, in the order each was first added, with its
// GPUs and watts summed, whatever order the containers come in.
func TestPowerUsesSumByContainer(t *testing.T) {
	pws := make([]place.Power, 7)
	for i := range pws {
		pws[i].LimitW = 1
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 2000 {
		var got powerUses
		var want []powerUse
		for range rng.IntN(40) {
			pw := &pws[rng.IntN(1+trial%len(pws))]
			g, w := 1+rng.IntN(8), float64(rng.IntN(1000))
			if rng.IntN(2) == 0 {
				got = got.add(pw, "rack", g, w, false)
			} else {
				got = got.addLast(pw, "rack", g, w, false)
			}
			found := false
			for i := range want {
				if want[i].pw == pw {
					want[i].gpus += g
					want[i].w += w
					found = true
					break
				}
			}
			if !found {
				want = append(want, powerUse{pw, "rack", g, w})
			}
		}
		if len(got) != len(want) {
			t.Fatalf("trial %d: %d containers, want %d", trial, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("trial %d: entry %d is %+v, want %+v", trial, i, got[i], want[i])
			}
		}
	}
}
