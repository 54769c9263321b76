package sched

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// TestHelpfulReplicasSkipDownGPUs: GPUs down take no job, free or given
// back, so a deployment's replica helps a job by the GPUs up it and the
// free GPUs up beside it would leave. On a node whose free GPUs are
// down, or whose replica holds GPUs down, it helps less than one on a
// node with fewer GPUs that are up.
func TestHelpfulReplicasSkipDownGPUs(t *testing.T) {
	for _, tc := range []struct {
		name      string
		down      map[string][]int // GPUs down per node
		otherGPUs map[string][]int // GPUs another job holds per node
		want      string           // the node of the most helpful replica
	}{
		{"free GPUs down", // n1: 2 free up; n2: 6 free, all down
			map[string][]int{"n2": {2, 3, 4, 5, 6, 7}}, map[string][]int{"n1": {2, 3, 4, 5}}, "n1"},
		{"replica's GPUs down", // none free; n1's replica holds GPUs down
			map[string][]int{"n1": {0, 1}}, map[string][]int{"n1": {2, 3, 4, 5, 6, 7}, "n2": {2, 3, 4, 5, 6, 7}}, "n2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dep := job("dep", "acme", "normal", 2, 2)
			dep.Kind = model.KindDeployment
			snap := &model.Snapshot{Facility: smallFacility(2),
				Running: []model.Allocation{{Job: dep, Replicas: []model.Placement{{Node: "n1", GPUs: []int{0, 1}}, {Node: "n2", GPUs: []int{0, 1}}}}}}
			for _, node := range []string{"n1", "n2"} {
				st := model.NodeState{Node: node, Condition: model.NodeUp, GPUs: make([]model.GPUState, 8)}
				for _, g := range tc.down[node] {
					st.GPUs[g].Down = true
				}
				snap.Nodes = append(snap.Nodes, st)
				if gs := tc.otherGPUs[node]; gs != nil {
					snap.Running = append(snap.Running, model.Allocation{Job: job("other-"+node, "acme", "normal", 1, len(gs)),
						Replicas: []model.Placement{{Node: node, GPUs: gs}}})
				}
			}
			p := newPass(snap, 1000, nil, nil, nil, nil)
			if got := p.helpfulReplicas(snap.Running[0].Replicas, p.allModels[0]); got[0].Node != tc.want {
				t.Fatalf("helpful order %v, want the replica on %s first", got, tc.want)
			}
		})
	}
}
