package place

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// RoomFor is what capacity reasons say is short; what it says must be
// true of Find: when no eligible node has the GPUs, CPUs or memory of a
// replica, or their GPUs hold fewer replicas than asked, nothing fits;
// when a replica fits, some eligible node has all it asks for; and the
// replicas that fit (Result.Fit) are no more than the GPUs hold.
func TestRoomForAgreesWithFind(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 50
	}
	short, fits := 0, 0
	for seed := range seeds {
		rng := rand.New(rand.NewPCG(uint64(seed), 0x500))
		c := New(review2Snapshot(rng), nil)
		for q := range 20 {
			r := review2Request(rng, c, []string{"t0", "t1", "t2"})
			r.Probe, r.Exists = false, false
			what := fmt.Sprintf("seed %d query %d %+v", seed, q, *r)
			rm := c.RoomFor(r)
			res := c.Find(r)
			lacks := rm.Nodes == 0 || rm.CPUs < r.CPUs || rm.Mem < r.Mem || r.GPUs > 0 && rm.GPUFit < r.Replicas
			if lacks {
				short++
				if res.OK() {
					t.Fatalf("%s: RoomFor %+v says it is short, but Find places it", what, rm)
				}
			}
			if res.OK() {
				fits++
				if rm.Nodes == 0 || rm.GPUs < r.GPUs || rm.CPUs < r.CPUs || rm.Mem < r.Mem {
					t.Fatalf("%s: Find places it, but RoomFor %+v has no node for a replica", what, rm)
				}
				continue
			}
			if r.GPUs > 0 && !r.SameNode && res.Fit > rm.GPUFit {
				t.Fatalf("%s: %d replicas fit, more than the %d the GPUs of RoomFor %+v hold", what, res.Fit, rm.GPUFit, rm)
			}
		}
	}
	if short == 0 || fits == 0 {
		t.Fatalf("%d requests short, %d placed: the test exercises too little", short, fits)
	}
	t.Logf("%d requests short, %d placed", short, fits)
}
