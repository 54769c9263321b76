package place

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// TestStrandedNodesComeBackOnRelease: a node that Find stranded (its
// site, hall or rack could not power one more GPU at the lowest cap) is
// seen again by single replicas once a release in one of its containers
// gives power back, as a fresh copy of the cluster sees it. A preemption
// search releases its victims in a what-if and asks Find for room: a
// node stranded by the job's own attempt stayed out of the buckets, and
// the search found no room there (or evicted more) though the victims'
// power made room (testdata/sched/preempt_stranded_power.txt).
func TestStrandedNodesComeBackOnRelease(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 100
	}
	checked := 0
	for seed := 0; seed < seeds; seed++ {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		snap := review2Snapshot(rng)
		snap.Facility.Policy.Power = true
		c := New(snap, nil)
		c.MinGPUWatts = make([]float64, len(c.Models))
		for i, gm := range c.Models {
			c.MinGPUWatts[i] = float64(max(0, gm.TDPWatts-gm.IdleWatts)) / 4 // capped
		}
		request := func(m, gpus int) *Request {
			return &Request{Tenant: "t0", Model: m, Replicas: 1, GPUs: gpus, MinWattsPerReplica: float64(gpus) * c.MinGPUWatts[m]}
		}
		c.Begin() // a pass's own log
		for range 40 {
			c.Find(request(rng.IntN(len(c.Models)-1), 1+rng.IntN(8)))
		}
		for m := range c.Nodes {
			md := &c.Nodes[m]
			if !md.Stranded {
				continue
			}
			for n := range c.Nodes {
				nd := &c.Nodes[n]
				if n == m || nd.Free == nd.NGPU || nd.Model < 0 || nd.Nameplate ||
					!(md.Hall >= 0 && md.Hall == nd.Hall || md.Rack >= 0 && md.Rack == nd.Rack) {
					continue
				}
				c.Begin() // a what-if release, as a preemption search makes
				c.Release(n, rng.Perm(nd.NGPU), &model.Job{}, 0)
				review2CheckView(t, fmt.Sprintf("seed %d: release on node %d", seed, n), c)
				for gpus := 1; gpus <= md.Free; gpus++ {
					r := request(md.Model, gpus)
					got, want := c.Find(r), c.Clone().Find(r)
					if fmt.Sprint(got.Slots) != fmt.Sprint(want.Slots) {
						t.Fatalf("seed %d: node %d stranded, released node %d: Find %+v gives %v, a fresh copy %v",
							seed, m, n, *r, got.Slots, want.Slots)
					}
					checked++
				}
				c.Rollback()
				review2CheckView(t, fmt.Sprintf("seed %d: rollback of node %d", seed, n), c)
				break
			}
		}
		c.Rollback()
	}
	if checked == 0 {
		t.Fatal("no stranded node was checked")
	}
}
