package sched_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// hostileTags are jurisdiction tags a hostile or careless spec might
// give: wildcards, case and space variants, empty strings, tags no site
// carries, and real ones.
var hostileTags = []string{"*", "", " ", "eu", "EU ", "E U", "EU*", "ALL", "any", "FR\x00", "US", "CN", "EU", "FR", "DE", "CH"}

// TestPropertyHostileJurisdictions gives random facilities workloads
// whose jobs, tenants and data classes carry hostile jurisdiction lists,
// with preemption, backfill and full clusters (the generator's running
// work), then takes nodes away and schedules again; at every pass each
// start must be on sites that carry one of the tenant's tags, one of the
// job's and one of its data class's — checked here from the facility
// directly, not through the core's own rule or plan.Verify.
func TestPropertyHostileJurisdictions(t *testing.T) {
	seeds := 200
	if testing.Short() {
		seeds = 40
	}
	starts := 0
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		snap, now := genSnapshot(seed)
		r := rand.New(rand.NewPCG(seed, 99))
		pick := func() []string {
			n := r.IntN(4)
			out := make([]string, n)
			for i := range out {
				out[i] = hostileTags[r.IntN(len(hostileTags))]
			}
			return out
		}
		if snap.Facility.DataClasses == nil {
			snap.Facility.DataClasses = map[string][]string{}
		}
		snap.Facility.DataClasses["secret"] = pick()
		for i := range snap.Facility.Tenants {
			if r.IntN(2) == 0 {
				snap.Facility.Tenants[i].Jurisdictions = pick()
			}
		}
		for _, j := range snap.Pending {
			j.Jurisdictions = pick()
			if r.IntN(3) == 0 {
				j.DataClass = "secret"
			}
		}
		for round := 0; round < 3; round++ {
			p := sched.Schedule(snap, now)
			for _, st := range p.Starts {
				checkSovereign(t, seed, snap, st)
				starts++
			}
			// Node loss: a third of the nodes go away before the next
			// pass; their pending work spills over to the others.
			keep := snap.Facility.Nodes[:0:0]
			for _, n := range snap.Facility.Nodes {
				if r.IntN(3) != 0 {
					keep = append(keep, n)
				}
			}
			snap = withNodes(snap, keep)
			now += model.Time(model.Hour)
		}
	}
	if starts < 100 {
		t.Errorf("only %d starts over %d seeds: the test exercises too little", starts, seeds)
	}
	t.Logf("%d starts checked over %d seeds", starts, seeds)
}

// withNodes is snap on a facility with only nodes, without the running
// work of the nodes that left.
func withNodes(snap *model.Snapshot, nodes []model.Node) *model.Snapshot {
	s := cloneSnapshot(snap)
	s.Facility.Nodes = nodes
	have := map[string]bool{}
	for _, n := range nodes {
		have[n.Name] = true
	}
	var running []model.Allocation
	for _, a := range s.Running {
		ok := true
		for _, pl := range a.Replicas {
			ok = ok && have[pl.Node]
		}
		if ok {
			running = append(running, a)
		}
	}
	s.Running = running
	var states []model.NodeState
	for _, ns := range s.Nodes {
		if have[ns.Node] {
			states = append(states, ns)
		}
	}
	s.Nodes = states
	return s
}

func checkSovereign(t *testing.T, seed uint64, snap *model.Snapshot, st model.Start) {
	t.Helper()
	var job *model.Job
	for _, j := range snap.Pending {
		if j.ID == st.Job {
			job = j
		}
	}
	if job == nil {
		return // a running job's resize or a deployment replica of the running set
	}
	var tenantTags []string
	for _, tn := range snap.Facility.Tenants {
		if tn.Name == job.Tenant {
			tenantTags = tn.Jurisdictions
		}
	}
	var classTags []string
	if job.DataClass != "" {
		classTags = snap.Facility.DataClasses[job.DataClass]
	}
	for _, pl := range st.Replicas {
		site := siteOfNode(snap.Facility, pl.Node)
		if site == nil {
			t.Fatalf("seed %d: %s placed on unknown node %s", seed, job.ID, pl.Node)
		}
		for _, c := range []struct {
			what string
			tags []string
		}{{"tenant", tenantTags}, {"job", job.Jurisdictions}, {"data class", classTags}} {
			if len(c.tags) > 0 && !carries(site, c.tags) {
				t.Errorf("seed %d: job %s placed in site %s (%v), outside its %s's jurisdictions %q",
					seed, job.ID, site.ID, site.Jurisdictions, c.what, fmt.Sprint(c.tags))
			}
		}
	}
}

func siteOfNode(f *model.Facility, node string) *model.Site {
	for _, n := range f.Nodes {
		if n.Name == node {
			for i := range f.Sites {
				if f.Sites[i].ID == n.Site {
					return &f.Sites[i]
				}
			}
		}
	}
	return nil
}

// carries reports whether site carries one of tags, compared byte for
// byte (no wildcard, case folding or trimming).
func carries(site *model.Site, tags []string) bool {
	for _, t := range tags {
		for _, s := range site.Jurisdictions {
			if s == t {
				return true
			}
		}
	}
	return false
}
