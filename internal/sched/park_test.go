package sched_test

import (
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// parkFacility has two 8×H100 nodes and tenant acme with a nominal
// quota of 8 H100 and no cohort: a 16-GPU gang can never start.
func parkFacility() *model.Facility {
	fac := newFacility()
	fac.Sites = []model.Site{{ID: "s1", Jurisdictions: []string{"EU"}, PowerEnvelopeKW: 1000, PUE: 1.2}}
	fac.Nodes = []model.Node{makeNode("n1", "s1").Obj(), makeNode("n2", "s1").Obj()}
	fac.Tenants = []model.Tenant{{Name: "acme", FairShareWeight: 1, Quota: map[string]model.Quota{"H100": quota(8, 0, -1)}}}
	return fac
}

// TestQuickParksHopelessJobs: a job that needs more than its tenant's
// quota could ever give is explained once, with a reason that says so,
// then left out of the walk; it stays queued, Remove takes it out, and a
// new facility (more quota) puts it back in the walk, where it starts.
func TestQuickParksHopelessJobs(t *testing.T) {
	fac := parkFacility()
	big := makeJob("big", "acme").Gang(2, 8).Limit(model.Hour).Obj()
	small := makeJob("small", "acme").Gang(1, 4).Limit(model.Hour).Submit(t0 + 1).Obj()
	snap := &model.Snapshot{Facility: fac}
	q := sched.NewQueue(fac, []*model.Job{big, small})

	p, considered := sched.Quick(snap, q, t0, 0)
	if len(p.Pending) != 1 || p.Pending[0].Job != "big" || p.Pending[0].Code != model.ReasonQuota ||
		!strings.Contains(p.Pending[0].Message, "needs 16 GPUs; tenant acme's quota gives it at most 8 H100 even with nothing running") {
		t.Fatalf("first pass: want big pending on a hopeless quota, got %+v", p.Pending)
	}
	if len(p.Starts) != 1 || p.Starts[0].Job != "small" || len(considered) != 2 {
		t.Fatalf("first pass: want small started and both considered, got starts %+v, %d considered", p.Starts, len(considered))
	}
	if full := sched.Schedule(&model.Snapshot{Facility: fac, Pending: []*model.Job{big}}, t0); len(full.Pending) != 1 ||
		full.Pending[0].Message != p.Pending[0].Message {
		t.Fatalf("Schedule explains big differently: %+v", full.Pending)
	}
	q.Remove("small")
	if q.Len() != 1 || q.Parked() != 1 {
		t.Fatalf("queue holds %d jobs, %d parked; want big, parked", q.Len(), q.Parked())
	}
	p, considered = sched.Quick(snap, q, t0+60, 0)
	if len(p.Pending) != 0 || len(p.Starts) != 0 || len(considered) != 0 {
		t.Fatalf("second pass walked the parked job: %+v, %d considered", p, len(considered))
	}
	if j, ok := q.Get("big"); !ok || j != big {
		t.Fatal("a parked job is no longer queued")
	}
	if q.Add(big) {
		t.Fatal("Add took a parked job twice")
	}

	more := parkFacility()
	more.Tenants[0].Quota["H100"] = quota(16, 0, -1)
	p, _ = sched.Quick(&model.Snapshot{Facility: more}, q, t0+120, 0)
	if len(p.Starts) != 1 || p.Starts[0].Job != "big" || q.Parked() != 0 {
		t.Fatalf("with a quota of 16 big should start: %+v, %d parked", p, q.Parked())
	}

	q2 := sched.NewQueue(fac, []*model.Job{big})
	sched.Quick(snap, q2, t0, 0)
	if !q2.Remove("big") || q2.Len() != 0 || q2.Parked() != 0 || q2.Remove("big") {
		t.Fatal("Remove of a parked job")
	}
}

// TestHopelessClaimsAreVoid: GPUs claimed for a job that can never start
// are free for others, in a full and a quick pass alike.
func TestHopelessClaimsAreVoid(t *testing.T) {
	fac := parkFacility()
	big := makeJob("big", "acme").Gang(2, 8).Limit(model.Hour).Obj()
	other := makeJob("other", "acme").Gang(1, 8).Limit(model.Hour).Submit(t0 - 1).Obj() // walked first
	claimed := make([]model.GPUState, 8)
	for g := range claimed {
		claimed[g] = model.GPUState{ClaimedBy: "big"}
	}
	nodes := []model.NodeState{{Node: "n1", Condition: model.NodeUp, GPUs: claimed},
		{Node: "n2", Condition: model.NodeDown}}
	full := sched.Schedule(&model.Snapshot{Facility: fac, Nodes: nodes, Pending: []*model.Job{big, other}}, t0)
	q := sched.NewQueue(fac, []*model.Job{big, other})
	quick, _ := sched.Quick(&model.Snapshot{Facility: fac, Nodes: nodes}, q, t0, 0)
	for name, p := range map[string]model.Plan{"Schedule": full, "Quick": quick} {
		if len(p.Starts) != 1 || p.Starts[0].Job != "other" || p.Starts[0].Replicas[0].Node != "n1" {
			t.Errorf("%s: want other started on n1, whose GPUs are claimed for a hopeless job; got %+v", name, p)
		}
	}
}
