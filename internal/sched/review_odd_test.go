package sched_test

import (
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/model"
)

func reviewOddSnapshot() *model.Snapshot {
	fac := newFacility()
	fac.Sites = []model.Site{{ID: "par", Country: "FR", Jurisdictions: []string{"EU", "FR"}, PowerEnvelopeKW: 100}}
	fac.Nodes = []model.Node{makeNode("n1", "par").Obj(), makeNode("n2", "par").Obj()}
	fac.Tenants = []model.Tenant{{Name: "acme"}}
	fac.Policy = model.Policy{Backfill: true, BackfillDepth: 4, Preemption: true}
	return &model.Snapshot{Facility: fac}
}

// A node with a negative GPU count indexes Buckets[-1].
func TestReviewNegativeNodeGPUsPanics(t *testing.T) {
	s := reviewOddSnapshot()
	s.Facility.Nodes[1].GPUs = -1
	s.Pending = []*model.Job{makeJob("j", "acme").Obj()}
	scheduleNoPanic(t, s, t0)
}

// A zero-GPU gang with a huge replica count: candidates() truncates the
// per-node capacity to int32 and fill() makes a slice of cap Replicas.
func TestReviewHugeZeroGPUGangPanics(t *testing.T) {
	s := reviewOddSnapshot()
	s.Pending = []*model.Job{makeJob("j", "acme").Gang(1<<44, 0).Resources(0, 0).Obj()}
	scheduleNoPanic(t, s, t0)
}

// A zero-GPU, zero-CPU deployment with many replicas loops one Find per
// replica and stacks them all on one node.
func TestReviewZeroResourceDeploymentLoops(t *testing.T) {
	s := reviewOddSnapshot()
	s.Pending = []*model.Job{makeJob("d", "acme").Deployment(200000, 1, 0).Resources(0, 0).Obj()}
	start := time.Now()
	p, _ := scheduleNoPanic(t, s, t0)
	if len(p.Starts) == 1 && len(p.Starts[0].Replicas) > 64 {
		t.Errorf("a deployment of 0-resource replicas starts %d replicas on %d nodes in %s",
			len(p.Starts[0].Replicas), len(s.Facility.Nodes), time.Since(start))
	}
}
