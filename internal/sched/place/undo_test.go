package place

import (
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/carnot-dc/carnot/internal/model"
)

var clusterCmp = []cmp.Option{
	cmp.AllowUnexported(Cluster{}, Node{}),
	cmpopts.IgnoreFields(Cluster{}, "undo", "spare", "Fac", "SiteSpecs"),
	cmpopts.IgnoreFields(Node{}, "Spec"),
}

// TestRollbackRestores: any sequence of allocations and releases under an
// undo log is undone exactly, and CopyTo gives the same view as Clone.
func TestRollbackRestores(t *testing.T) {
	seeds := 100
	if testing.Short() {
		seeds = 20
	}
	for seed := 0; seed < seeds; seed++ {
		rng := rand.New(rand.NewPCG(uint64(seed), 11))
		snap := randomSnapshot(rng)
		c := New(snap, nil)
		before := c.Clone()
		var dst Cluster
		c.CopyTo(&dst)
		if d := cmp.Diff(before, &dst, clusterCmp...); d != "" {
			t.Fatalf("seed %d: CopyTo differs from Clone (-clone +copy):\n%s", seed, d)
		}
		c.Begin()
		job := &model.Job{ID: "x", Tenant: "t1", CPUsPerReplica: 2, MemGiBPerReplica: 8, ExclusiveNode: rng.IntN(4) == 0}
		for k := 0; k < 20; k++ {
			n := rng.IntN(len(c.Nodes))
			gpus := rng.Perm(c.Nodes[n].NGPU)[:rng.IntN(c.Nodes[n].NGPU+1)]
			if rng.IntN(2) == 0 {
				c.Alloc(n, gpus, job, 300*rng.IntN(2), rng.IntN(2) == 0)
			} else {
				c.Release(n, gpus, job, 0)
			}
		}
		c.Rollback()
		if d := cmp.Diff(before, c, clusterCmp...); d != "" {
			t.Fatalf("seed %d: rollback left differences (-before +after):\n%s", seed, d)
		}
	}
}
