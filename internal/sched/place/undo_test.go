package place

import (
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/carnot-dc/carnot/internal/model"
)

var clusterCmp = []cmp.Option{
	cmp.AllowUnexported(Cluster{}, Node{}, Power{}),
	cmpopts.IgnoreFields(Cluster{}, "undo", "spare", "Fac", "SiteSpecs", "uid", "ver", "clock"), // versions: version_test.go
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
		checkPoolFree(t, c)
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
		checkPoolFree(t, c)
		c.Rollback()
		if d := cmp.Diff(before, c, clusterCmp...); d != "" {
			t.Fatalf("seed %d: rollback left differences (-before +after):\n%s", seed, d)
		}
		checkPoolFree(t, c)
	}
}

// checkPoolFree: every pool's Free is the sum of its nodes' free GPUs.
func checkPoolFree(t *testing.T, c *Cluster) {
	t.Helper()
	for p := range c.Pools {
		sum := 0
		for _, n := range c.Pools[p].Nodes {
			sum += c.Nodes[n].Free
		}
		if sum != c.Pools[p].Free {
			t.Fatalf("pool %d: Free = %d, its nodes have %d free GPUs", p, c.Pools[p].Free, sum)
		}
	}
}

// randomChange makes one change on a random node of c: an allocation
// or a release of random GPUs, or what other does to the node.
func randomChange(c *Cluster, rng *rand.Rand, job *model.Job, other func(n int)) {
	n := rng.IntN(len(c.Nodes))
	gpus := rng.Perm(c.Nodes[n].NGPU)[:rng.IntN(c.Nodes[n].NGPU+1)]
	switch rng.IntN(3) {
	case 0:
		c.Alloc(n, gpus, job, 0, false)
	case 1:
		c.Release(n, gpus, job, 0)
	default:
		other(n)
	}
}

// TestNestedUndo: an inner Rollback restores the state at the inner
// Begin; an inner Commit keeps its changes until the outer Rollback,
// which restores the state at the outer Begin.
func TestNestedUndo(t *testing.T) {
	for seed := 0; seed < 50; seed++ {
		rng := rand.New(rand.NewPCG(uint64(seed), 12))
		c := New(randomSnapshot(rng), nil)
		job := &model.Job{ID: "x", Tenant: "t1", CPUsPerReplica: 2, MemGiBPerReplica: 8}
		mutate := func() {
			for k := 0; k < 10; k++ {
				randomChange(c, rng, job, func(n int) {
					c.SetSpare(n, rng.IntN(4), rng.IntN(8), rng.IntN(64), []string{"t0", "t1", "t2"}[rng.IntN(3)], rng.IntN(2) == 0)
					c.SetPowerSpare(&c.Sites[0], float64(rng.IntN(1000)))
				})
			}
		}
		before := c.Clone()
		c.Begin()
		mutate()
		mid := c.Clone()
		c.Begin()
		mutate()
		if rng.IntN(2) == 0 {
			c.Rollback()
			if d := cmp.Diff(mid, c, clusterCmp...); d != "" {
				t.Fatalf("seed %d: inner rollback (-mid +after):\n%s", seed, d)
			}
		} else {
			c.Commit()
		}
		mutate()
		c.Rollback()
		if d := cmp.Diff(before, c, clusterCmp...); d != "" {
			t.Fatalf("seed %d: outer rollback (-before +after):\n%s", seed, d)
		}
		if c.undo != nil {
			t.Fatalf("seed %d: the log stays open after the outermost rollback", seed)
		}
	}
}
