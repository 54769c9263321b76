package place

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// Regression guards for the shortcuts of 9da7b92 / 4ca5ce3 / 980d180:
// candidatesFree skips nodes by the bucket-0 bitset and pools by site,
// firstEnoughGPUs trusts Pool.Free, and candidate lists live in a buffer
// of the cluster's working memory. They are exact only while the buckets
// and Pool.Free are in step with the nodes through every operation a
// driver or a pass applies (Alloc, Release, Retally, Restrict, SetState,
// ReleaseClaim, Find's stranding, BeginFuture, nested Rollback/Commit,
// CopyTo, Clone).

// review2CheckView: bucket k holds exactly the up, unstranded nodes
// without an exclusive job that have k free GPUs; Pool.Free is the sum of
// its nodes' free GPUs; every stranded node is on the list BeginFuture
// reads.
func review2CheckView(t *testing.T, what string, c *Cluster) {
	t.Helper()
	for n := range c.Nodes {
		if c.Nodes[n].Stranded && !slices.Contains(c.stranded, int32(n)) {
			t.Fatalf("%s: node %d is stranded but not listed (%v)", what, n, c.stranded)
		}
	}
	for p := range c.Pools {
		pool := &c.Pools[p]
		sum := 0
		for pos, n := range pool.Nodes {
			nd := &c.Nodes[n]
			sum += nd.Free
			for k := range pool.Buckets {
				in := pool.Buckets[k][pos/64]&(1<<(pos%64)) != 0
				want := nd.Up && !nd.Stranded && !nd.ExclJob && nd.Free == k
				if in != want {
					t.Fatalf("%s: pool %d node %d (free %d up %v stranded %v excljob %v): in bucket %d = %v",
						what, p, n, nd.Free, nd.Up, nd.Stranded, nd.ExclJob, k, in)
				}
			}
		}
		if sum != pool.Free {
			t.Fatalf("%s: pool %d Free = %d, nodes have %d", what, p, pool.Free, sum)
		}
	}
}

// review2SlowCandidates is candidates as 784f873 computed it: every node
// of every pool of the model through nodeFilter.
func review2SlowCandidates(c *Cluster, r *Request) (out []cand, fit, free int) {
	for p := range c.Pools {
		pool := &c.Pools[p]
		if pool.Model != r.Model {
			continue
		}
		for _, n := range pool.Nodes {
			if c.nodeFilter(int(n), r) != passed {
				continue
			}
			k := c.capacity(int(n), r)
			free += c.UsableBy(int(n), r.Tenant, r.Claim)
			if k > 0 {
				out = append(out, cand{node: n, cap: int32(k)})
				fit += k
			}
		}
	}
	slices.SortFunc(out, cmpCand)
	return out, fit, free
}

// review2SlowDiagnose is diagnose the slow way: every node of the
// model's pools through nodeFilter for the rejections and candidates,
// then every node again for the GPUs restricted to others.
func review2SlowDiagnose(c *Cluster, r *Request) Result {
	var res Result
	var cands []cand
	for p := range c.Pools {
		if c.Pools[p].Model != r.Model {
			continue
		}
		for _, n := range c.Pools[p].Nodes {
			if f := c.nodeFilter(int(n), r); f != passed {
				res.Rejected[f]++
				continue
			}
			k := c.capacity(int(n), r)
			res.FreeGPUs += c.UsableBy(int(n), r.Tenant, r.Claim)
			if k > 0 {
				cands = append(cands, cand{node: n, cap: int32(k)})
				res.Fit += k
			}
		}
	}
	for p := range c.Pools {
		if c.Pools[p].Model != r.Model {
			continue
		}
		for _, n := range c.Pools[p].Nodes {
			nd := &c.Nodes[n]
			if nd.Dirty == 0 || c.nodeFilter(int(n), r) != passed {
				continue
			}
			for g := 0; g < nd.NGPU; g++ {
				o := c.dirty[nd.dirtyOff+g]
				if nd.Busy&(1<<g) != 0 || o == "" || o == r.Tenant || r.Claim != "" && o == r.Claim {
					continue
				}
				if o == GPUDown {
					res.Down++
				} else if job := c.ClaimOf(int(n), g); job != "" {
					res.Claimed++
					if res.ClaimedBy == "" {
						res.ClaimedBy = job
					}
				} else {
					res.DirtyOther++
				}
			}
		}
	}
	slices.SortFunc(cands, cmpCand)
	c.largest(r, cands, &res)
	return res
}

func review2CheckDiagnose(t *testing.T, what string, c *Cluster, r *Request) {
	t.Helper()
	got, want := c.diagnose(r), review2SlowDiagnose(c, r)
	got.block, got.blockKnown = 0, false // checked against PowerBlock on its own
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: diagnose %+v, the slow way %+v (request %+v)", what, got, want, *r)
	}
}

func review2Request(rng *rand.Rand, c *Cluster, tenants []string) *Request {
	r := &Request{Tenant: tenants[rng.IntN(len(tenants))], Model: rng.IntN(len(c.Models)),
		Replicas: 1 + rng.IntN(6), GPUs: rng.IntN(9), CPUs: rng.IntN(16), Mem: rng.IntN(128),
		Level: rng.IntN(NumLevels + 1), Required: rng.IntN(2) == 0, ExclusiveNode: rng.IntN(10) == 0,
		MinWattsPerReplica: float64(rng.IntN(3) * 600), Constrained: rng.IntN(5) == 0}
	if r.Level == NumLevels {
		r.Required = false
	}
	r.TenantExcl = r.Tenant == "t2"
	if rng.IntN(4) == 0 {
		r.Claim = ClaimKey("p1")
	}
	if rng.IntN(3) == 0 {
		r.Sites = make([]bool, len(c.Sites))
		for s := range r.Sites {
			r.Sites[s] = rng.IntN(2) == 0
		}
	}
	if rng.IntN(2) == 0 {
		r.Probe = true
	}
	if rng.IntN(4) == 0 {
		r.SameNode = true
	}
	return r
}

func review2CheckCandidates(t *testing.T, what string, c *Cluster, r *Request) {
	t.Helper()
	if r.GPUs <= 0 {
		return
	}
	got, gfit, gfree := c.candidates(r)
	got = slices.Clone(got)
	want, wfit, wfree := review2SlowCandidates(c, r)
	if !slices.Equal(got, want) || gfit != wfit || gfree != wfree {
		t.Fatalf("%s: candidatesFree %+v fit %d free %d, a full scan %+v fit %d free %d (request %+v)",
			what, got, gfit, gfree, want, wfit, wfree, *r)
	}
	if b := c.gangBound(r); b < gfit {
		t.Fatalf("%s: gangBound %d below the candidates' %d replicas (request %+v)", what, b, gfit, *r)
	}
}

// review2Snapshot is randomSnapshot with power limits on sites, a hall
// and racks (so that Find strands nodes), a big pool (over one bitset word), claims for a
// pending job, and GPU-less nodes.
func review2Snapshot(rng *rand.Rand) *model.Snapshot {
	snap := randomSnapshot(rng)
	f := snap.Facility
	f.Policy.Power = rng.IntN(2) == 0
	for i := range f.Sites {
		if rng.IntN(2) == 0 {
			f.Sites[i].PowerEnvelopeKW = float64(5 + rng.IntN(60))
		}
	}
	hallCap := 0.0 // uncapped half the time, so that racks decide
	if rng.IntN(2) == 0 {
		hallCap = float64(10 + rng.IntN(30))
	}
	f.Halls = append(f.Halls, model.Hall{ID: "s0/h0", Site: "s0"}, model.Hall{ID: "s0/h1", Site: "s0", PowerCapKW: hallCap})
	if rng.IntN(2) == 0 {
		// the big pool's racks, some capped, so that a rack's power
		// refuses nodes its hall and site would take
		for k := range 4 {
			cap := 0.0
			if rng.IntN(2) == 0 {
				cap = float64(10 + rng.IntN(120))
			}
			f.Racks = append(f.Racks, model.Rack{ID: fmt.Sprintf("s0/h1/r%d", k), Hall: "s0/h1", PowerCapKW: cap})
		}
		for i := range 60 + rng.IntN(80) {
			name := fmt.Sprintf("big%03d", i)
			f.Nodes = append(f.Nodes, model.Node{Name: name, Site: "s0", Hall: "s0/h1", Rack: fmt.Sprintf("s0/h1/r%d", i%4),
				Leaf: fmt.Sprintf("s0/h1/l%d", i%8), NVLinkDomain: fmt.Sprintf("s0/h1/nvl%d", i/4), GPUModel: "H100", GPUs: 8, CPUs: 64, MemoryGiB: 512})
			st := model.NodeState{Node: name, GPUs: make([]model.GPUState, 8)}
			if used := rng.IntN(9); used > 0 && rng.IntN(3) > 0 {
				j := &model.Job{ID: "run-" + name, Tenant: fmt.Sprintf("t%d", rng.IntN(3)), Replicas: 1, GPUsPerReplica: used,
					CPUsPerReplica: rng.IntN(16), MemGiBPerReplica: rng.IntN(64), ExclusiveNode: rng.IntN(10) == 0}
				snap.Running = append(snap.Running, model.Allocation{Job: j, Replicas: []model.Placement{{Node: name, GPUs: rng.Perm(8)[:used], PowerCapW: 300 * rng.IntN(2)}}})
			}
			if rng.IntN(5) == 0 {
				st.GPUs[7] = model.GPUState{ClaimedBy: "p1", Dirty: rng.IntN(3) == 0, LastTenant: "t1"}
			}
			snap.Nodes = append(snap.Nodes, st)
		}
	}
	for i := range 1 + rng.IntN(2) {
		f.Nodes = append(f.Nodes, model.Node{Name: fmt.Sprintf("cpu%d", i), Site: "s0", Hall: "s0/h0", GPUs: 0, CPUs: 64, MemoryGiB: 256})
	}
	snap.Pending = []*model.Job{{ID: "p1", Tenant: "t1"}}
	return snap
}

// TestReview2BucketsAndPoolFreeStayInStep drives random clusters through
// random operations and checks after each one the bucket and Pool.Free
// invariants and that the skipping candidate list equals a full scan.
func TestReview2BucketsAndPoolFreeStayInStep(t *testing.T) {
	seeds := 400
	if testing.Short() {
		seeds = 60
	}
	tenants := []string{"t0", "t1", "t2"}
	for seed := 0; seed < seeds; seed++ {
		rng := rand.New(rand.NewPCG(uint64(seed), 2026))
		snap := review2Snapshot(rng)
		c := New(snap, nil)
		if c.PowerOn {
			c.MinGPUWatts = make([]float64, len(c.Models))
			for i, gm := range c.Models {
				c.MinGPUWatts[i] = float64(max(0, gm.TDPWatts-gm.IdleWatts))
			}
		}
		what := func(op string, i int) string { return fmt.Sprintf("seed %d op %d (%s)", seed, i, op) }
		review2CheckView(t, what("new", -1), c)
		depth := 0
		job := func() *model.Job {
			return &model.Job{ID: fmt.Sprintf("x%d", rng.IntN(4)), Tenant: tenants[rng.IntN(3)], CPUsPerReplica: rng.IntN(8),
				MemGiBPerReplica: rng.IntN(32), ExclusiveNode: rng.IntN(8) == 0}
		}
		for i := 0; i < 120; i++ {
			op := ""
			n := rng.IntN(len(c.Nodes))
			switch x := rng.IntN(14); x {
			case 0, 1:
				op = "alloc"
				gs := rng.Perm(c.Nodes[n].NGPU + 1)
				c.Alloc(n, gs[:rng.IntN(min(3, len(gs))+1)], job(), 300*rng.IntN(2), rng.IntN(4) == 0)
			case 2, 3:
				op = "release"
				gs := rng.Perm(c.Nodes[n].NGPU + 1)
				c.Release(n, gs[:rng.IntN(min(4, len(gs))+1)], job(), 300*rng.IntN(2))
			case 4:
				op = "begin"
				c.Begin()
				depth++
			case 5:
				op = "begin-future"
				c.BeginFuture()
				depth++
			case 6:
				if depth > 0 {
					op = "rollback"
					c.Rollback()
					depth--
				}
			case 7:
				if depth > 0 {
					op = "commit"
					c.Commit()
					depth--
				}
			case 8, 9:
				op = "find"
				r := review2Request(rng, c, tenants)
				review2CheckCandidates(t, what("candidates", i), c, r)
				review2CheckDiagnose(t, what("diagnose", i), c, r)
				if k1, p1, ok1 := c.PowerBlock(r); true {
					k2, p2, ok2 := review2SlowPowerBlock(c, r)
					if k1 != k2 || p1 != p2 || ok1 != ok2 {
						t.Fatalf("%s: PowerBlock answers %s %p %v, a walk over every pool %s %p %v", what("power-block", i), k1, p1, ok1, k2, p2, ok2)
					}
				}
				res := c.Find(r)
				for pi := range c.Pools {
					if pool := &c.Pools[pi]; c.siteShort(pool.Site, r) {
						for _, n := range pool.Nodes {
							if got, want := c.shortFilter(int(n), r), c.nodeFilter(int(n), r); got != want {
								t.Fatalf("%s: node %d of a short site: shortFilter %d, nodeFilter %d (request %+v)", what("short-filter", i), n, got, want, *r)
							}
						}
					}
				}
				avoiding := *r // and with every third node avoided (failed-start)
				for n := 0; n < len(c.Nodes); n += 3 {
					avoiding.Avoid = append(avoiding.Avoid, int32(n))
				}
				for _, q := range []*Request{r, &avoiding} {
					res := c.Find(q)
					k1, p1, ok1 := c.PowerBlock(q)
					if k2, p2, ok2 := c.PowerBlockOf(q, &res); k1 != k2 || p1 != p2 || ok1 != ok2 {
						t.Fatalf("%s: PowerBlock answers %s %p %v, with Find's diagnosis %s %p %v (request %+v)", what("power-block-of", i), k1, p1, ok1, k2, p2, ok2, *q)
					}
				}
				if q := *r; q.Replicas == 1 && q.GPUs > 0 {
					// the same without power, as a power reason's probe asks
					// after the search that stranded nodes: a node stranded
					// for power is as good as any
					q.MinWattsPerReplica = 0
					got := c.Find(&q)
					if cands, _, _ := review2SlowCandidates(c, &q); got.OK() != (len(cands) > 0) {
						t.Fatalf("%s: Find of one replica without power answers %v, %d nodes fit (request %+v)", what("find-one", i), got.OK(), len(cands), q)
					}
				}
				if _, _, free := review2SlowCandidates(c, r); !res.OK() && !r.Probe && res.FreeGPUs != free {
					t.Fatalf("%s: Find found no room and %d usable free GPUs, a full scan %d (request %+v)", what("find", i), res.FreeGPUs, free, *r)
				}
				ex := *r
				ex.Exists = true
				if got := c.Find(&ex); got.OK() != res.OK() || got.OK() && len(got.Slots) != 0 {
					t.Fatalf("%s: Find with Exists answers %v, Find %v", what("exists", i), got, res)
				}
			case 10:
				op = "retally"
				var js []*model.Job
				for range rng.IntN(3) {
					js = append(js, job())
				}
				c.Retally(n, js, func(t string) bool { return t == "t2" })
			case 11:
				op = "restrict"
				c.Restrict(n, rng.IntN(8), model.GPUState{Dirty: true, LastTenant: tenants[rng.IntN(3)]})
			case 12:
				if depth == 0 {
					op = "setstate"
					gs := make([]model.GPUState, c.Nodes[n].NGPU)
					for g := range gs {
						switch rng.IntN(4) {
						case 0:
							gs[g] = model.GPUState{Dirty: true, LastTenant: tenants[rng.IntN(3)]}
						case 1:
							gs[g] = model.GPUState{ClaimedBy: "p1"}
						}
					}
					c.SetState(n, gs, func(id string) (string, bool) { return "t1", id == "p1" })
				}
			case 13:
				op = "release-claim"
				var nodes []int
				for range 1 + rng.IntN(6) {
					nodes = append(nodes, rng.IntN(len(c.Nodes)))
				}
				c.ReleaseClaim(ClaimKey("p1"), nodes)
			}
			if op == "" {
				continue
			}
			review2CheckView(t, what(op, i), c)
			if rng.IntN(10) == 0 {
				// copies: their own buckets, Free and working memory
				var dst Cluster
				if rng.IntN(2) == 0 {
					c.CopyTo(&dst)
				} else {
					dst = *c.Clone()
				}
				review2CheckView(t, what(op+" copy", i), &dst)
				r := review2Request(rng, c, tenants)
				a := c.Find(r)
				b := dst.Find(r)
				a2 := c.Find(r)
				if fmt.Sprint(a2) != fmt.Sprint(a) {
					t.Fatalf("%s: Find on the cluster changed after Find on its copy: %v then %v", what(op, i), a, a2)
				}
				if fmt.Sprint(a.Slots) != fmt.Sprint(b.Slots) && !c.anyStranded() {
					t.Fatalf("%s: a copy finds %v, the cluster %v", what(op, i), b.Slots, a.Slots)
				}
			}
		}
		for ; depth > 0; depth-- {
			c.Rollback()
			review2CheckView(t, what("final rollback", depth), c)
		}
	}
}

// anyStranded: copies put stranded nodes back, so their Find may differ.
func (c *Cluster) anyStranded() bool {
	for i := range c.Nodes {
		if c.Nodes[i].Stranded {
			return true
		}
	}
	return false
}

// review2SlowPowerBlock is PowerBlock as it was before it skipped the
// pools of sites the request may not use: every pool of the model.
func review2SlowPowerBlock(c *Cluster, r *Request) (string, *Power, bool) {
	count := map[*Power]int{}
	kinds := map[*Power]string{}
	var order []*Power
	for p := range c.Pools {
		if c.Pools[p].Model != r.Model {
			continue
		}
		for _, n := range c.Pools[p].Nodes {
			nd := &c.Nodes[n]
			if c.nodeFilter(int(n), r) != powerFilter {
				continue
			}
			for _, x := range []struct {
				k string
				i int
				l []Power
			}{{"site", nd.Site, c.Sites}, {"hall", nd.Hall, c.Halls}, {"rack", nd.Rack, c.Racks}} {
				if x.i >= 0 && x.l[x.i].HeadroomFor(r.Constrained) < r.MinWattsPerReplica {
					pw := &x.l[x.i]
					if count[pw] == 0 {
						order = append(order, pw)
						kinds[pw] = x.k
					}
					count[pw]++
					break
				}
			}
		}
	}
	var best *Power
	for _, pw := range order {
		if best == nil || count[pw] > count[best] {
			best = pw
		}
	}
	if best != nil {
		return kinds[best], best, true
	}
	return "", nil, false
}
