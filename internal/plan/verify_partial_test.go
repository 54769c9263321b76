package plan_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
)

// partialFixture is fixture with r1 a deployment of 4 replicas × 2 GPUs
// (minimum 2) running on n2:0-7, and j2 (high) waiting for 2 GPUs.
func partialFixture() (*model.Snapshot, *model.Plan) {
	snap, p := fixture()
	a := running(snap, "r1")
	a.Job.Kind, a.Job.Replicas, a.Job.MinReplicas, a.Job.GPUsPerReplica = model.KindDeployment, 4, 2, 2
	a.Replicas = []model.Placement{place("n2", 0, 1), place("n2", 2, 3), place("n2", 4, 5), place("n2", 6, 7)}
	return snap, p
}

func TestVerifyPartialPreemption(t *testing.T) {
	take := func(reps ...model.Placement) model.Preemption {
		return model.Preemption{Victim: "r1", Beneficiary: "j2", NoticeAt: t0, EvictAt: t0.Add(10 * model.Minute), Replicas: reps}
	}
	tests := []struct {
		name   string
		mutate func(*model.Snapshot, *model.Plan)
		want   []string
	}{
		{"one replica above the minimum", func(_ *model.Snapshot, p *model.Plan) {
			p.Preemptions = []model.Preemption{take(place("n2", 6, 7))}
		}, nil},
		{"down to the minimum", func(_ *model.Snapshot, p *model.Plan) {
			p.Preemptions = []model.Preemption{take(place("n2", 4, 5), place("n2", 6, 7))}
		}, nil},
		{"below the minimum", func(_ *model.Snapshot, p *model.Plan) {
			p.Preemptions = []model.Preemption{take(place("n2", 2, 3), place("n2", 4, 5), place("n2", 6, 7))}
		}, []string{"preemption r1  -1"}},
		{"every replica", func(_ *model.Snapshot, p *model.Plan) {
			p.Preemptions = []model.Preemption{take(place("n2", 0, 1), place("n2", 2, 3), place("n2", 4, 5), place("n2", 6, 7))}
		}, []string{"preemption r1  -1"}},
		{"minimum 0 keeps one", func(s *model.Snapshot, p *model.Plan) {
			running(s, "r1").Job.MinReplicas = 0
			p.Preemptions = []model.Preemption{take(place("n2", 2, 3), place("n2", 4, 5), place("n2", 6, 7))}
		}, nil},
		{"a replica it does not run", func(_ *model.Snapshot, p *model.Plan) {
			p.Preemptions = []model.Preemption{take(place("n2", 5, 6))}
		}, []string{"preemption r1 n2 -1"}},
		{"a replica named twice", func(_ *model.Snapshot, p *model.Plan) {
			p.Preemptions = []model.Preemption{take(place("n2", 6, 7), place("n2", 6, 7))}
		}, []string{"preemption r1 n2 -1"}},
		{"a gang", func(s *model.Snapshot, p *model.Plan) {
			running(s, "r1").Job.Kind = model.KindJob
			p.Preemptions = []model.Preemption{take(place("n2", 6, 7))}
		}, []string{"preemption r1  -1"}},
		{"replicas already leaving", func(s *model.Snapshot, p *model.Plan) {
			a := running(s, "r1")
			leaving := *a
			leaving.Job = model.LeavingJob(a.Job)
			leaving.Replicas = a.Replicas[3:]
			leaving.Terminating, leaving.EvictAt, leaving.PreemptedFor = true, t0+60, "j1"
			a.Replicas = a.Replicas[:3]
			s.Running = append(s.Running, leaving)
			p.Preemptions = []model.Preemption{take(place("n2", 4, 5))}
		}, []string{"preemption r1  -1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap, p := partialFixture()
			tt.mutate(snap, p)
			if diff := cmp.Diff(tt.want, keys(plan.Verify(snap, p))); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		})
	}
}
