package place

import (
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
)

// siteState is what a request on site s reads of c: the site's nodes
// and the loads of its site, halls and racks.
type siteState struct {
	Nodes []Node
	Power []Power
}

func stateOf(c *Cluster, s int) siteState {
	var st siteState
	st.Power = append(st.Power, c.Sites[s])
	for _, nd := range c.Nodes {
		if nd.Site != s {
			continue
		}
		nd.Spec = nil
		st.Nodes = append(st.Nodes, nd)
		if nd.Hall >= 0 {
			st.Power = append(st.Power, c.Halls[nd.Hall])
		}
		if nd.Rack >= 0 {
			st.Power = append(st.Power, c.Racks[nd.Rack])
		}
	}
	return st
}

// TestVersionsTellChanges: after changes outside an undo log, a site
// whose state differs has a new version (a hall across sites included);
// under a log, versions stay and
// ChangedIn names every site whose state differs; Rollback leaves the
// versions as they were.
func TestVersionsTellChanges(t *testing.T) {
	opt := cmp.AllowUnexported(Node{}, Power{})
	changed, kept, logged := 0, 0, 0
	for seed := 0; seed < 200; seed++ {
		rng := rand.New(rand.NewPCG(uint64(seed), 17))
		snap := randomSnapshot(rng)
		snap.Facility.Policy.Power = true
		if seed%2 == 1 { // one hall across every site: a change anywhere changes every site's power
			snap.Facility.Halls = []model.Hall{{ID: "shared", PowerCapKW: 1000}}
			for i := range snap.Facility.Nodes {
				snap.Facility.Nodes[i].Hall = "shared"
			}
		}
		c := New(snap, nil)
		sites := map[string]bool{}
		for _, n := range snap.Facility.Nodes {
			sites[n.Site] = true
		}
		if want := seed%2 == 1 && len(sites) > 1; c.SpansSites() != want {
			t.Fatalf("seed %d: SpansSites %v, want %v", seed, c.SpansSites(), want)
		}
		job := &model.Job{ID: "x", Tenant: "t1", CPUsPerReplica: 2, MemGiBPerReplica: 8}
		for step := 0; step < 20; step++ {
			before := make([]siteState, len(c.Sites))
			vers := make([]uint64, len(c.Sites))
			for s := range c.Sites {
				before[s], vers[s] = stateOf(c, s), c.Version(s)
			}
			underLog := rng.IntN(2) == 0
			if underLog {
				c.Begin()
			}
			for k := rng.IntN(3); k > 0; k-- {
				randomChange(c, rng, job, func(n int) { c.HoldPower(n, float64(1+rng.IntN(500))) })
			}
			for s := range c.Sites {
				same := cmp.Equal(before[s], stateOf(c, s), opt)
				mask := make([]bool, len(c.Sites))
				mask[s] = true
				switch {
				case underLog && c.Version(s) != vers[s]:
					t.Fatalf("seed %d step %d: site %d's version moved under an undo log", seed, step, s)
				case underLog && !same && !c.ChangedIn(mask):
					t.Fatalf("seed %d step %d: site %d changed under the log, ChangedIn says not", seed, step, s)
				case !underLog && !same && c.Version(s) == vers[s]:
					t.Fatalf("seed %d step %d: site %d changed, its version %d did not", seed, step, s, vers[s])
				case !same && underLog:
					logged++
				case !same:
					changed++
				default:
					kept++
				}
			}
			if underLog {
				c.Rollback()
				for s := range c.Sites {
					if c.Version(s) != vers[s] || !cmp.Equal(before[s], stateOf(c, s), opt) {
						t.Fatalf("seed %d step %d: site %d not as before the log after Rollback", seed, step, s)
					}
				}
			}
		}
	}
	if changed == 0 || kept == 0 || logged == 0 {
		t.Fatalf("the test saw %d changed sites, %d unchanged, %d changed under a log", changed, kept, logged)
	}
}

// TestCopiesAreOtherViews: a clone and a copy have UIDs of their own.
func TestCopiesAreOtherViews(t *testing.T) {
	c := New(randomSnapshot(rand.New(rand.NewPCG(1, 2))), nil)
	d := c.Clone()
	var e Cluster
	c.CopyTo(&e)
	if c.UID() == d.UID() || c.UID() == e.UID() || d.UID() == e.UID() {
		t.Fatalf("UIDs %d, %d, %d: a copy shares its original's", c.UID(), d.UID(), e.UID())
	}
}
