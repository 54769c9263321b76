package sched

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/place"
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
			r := &place.Request{Tenant: "acme", Model: p.allModels[0]}
			if got := p.helpfulReplicas(snap.Running[0].Replicas, r); got[0].Node != tc.want {
				t.Fatalf("helpful order %v, want the replica on %s first", got, tc.want)
			}
		})
	}
}

// partialRoomSnap: deployment dep of beta (3 replicas of 4 GPUs, keeping
// 2) runs on n1, n2 and n3, beside 4 free GPUs on n1 (in state free) and
// another job's 2 and 2 free on n2 and n3; j, of beta at a higher
// priority, needs 6 GPUs on one node. Only dep's replica on n2 or n3
// makes room j can use when n1 (cond) or its free GPUs are of no use
// to j.
func partialRoomSnap(cond model.NodeCondition, free model.GPUState) *model.Snapshot {
	f := smallFacility(3)
	f.Policy.Quotas = false
	dep := job("dep", "beta", "normal", 3, 4)
	dep.Kind, dep.MinReplicas = model.KindDeployment, 2
	other := job("other", "beta", "high", 2, 2)
	j := job("j", "beta", "high", 1, 6)
	snap := &model.Snapshot{Facility: f, Pending: []*model.Job{j}, Running: []model.Allocation{
		{Job: dep, Replicas: []model.Placement{{Node: "n1", GPUs: []int{0, 1, 2, 3}}, {Node: "n2", GPUs: []int{0, 1, 2, 3}}, {Node: "n3", GPUs: []int{0, 1, 2, 3}}}},
		{Job: other, Replicas: []model.Placement{{Node: "n2", GPUs: []int{4, 5}}, {Node: "n3", GPUs: []int{4, 5}}}},
	}}
	n1 := model.NodeState{Node: "n1", Condition: cond, GPUs: make([]model.GPUState, 8)}
	for g := 4; g < 8; g++ {
		n1.GPUs[g] = free
	}
	snap.Nodes = []model.NodeState{n1}
	if free.ClaimedBy != "" { // a pending job that waits for more than its claim
		snap.Pending = append(snap.Pending, job(free.ClaimedBy, "acme", "normal", 1, 8))
	}
	return snap
}

// TestPartialPreemptionSkipsReplicasThatMakeNoRoom: a deployment's
// replica on a node that takes nothing new (draining, down) makes no
// room for the job, nor do free GPUs beside it that the job may not use
// (dirty after another tenant, claimed for another job): the one
// replica dep gives up is one on n2 or n3, and j waits for it alone.
func TestPartialPreemptionSkipsReplicasThatMakeNoRoom(t *testing.T) {
	for _, tc := range []struct {
		name string
		cond model.NodeCondition
		free model.GPUState
	}{
		{"n1 draining", model.NodeDraining, model.GPUState{}},
		{"n1 down", model.NodeDown, model.GPUState{}},
		{"n1's free GPUs dirty after acme", model.NodeUp, model.GPUState{Dirty: true, LastTenant: "acme"}},
		{"n1's free GPUs dirty after no known tenant", model.NodeUp, model.GPUState{Dirty: true}},
		{"n1's free GPUs claimed for another pending job", model.NodeUp, model.GPUState{ClaimedBy: "k"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Schedule(partialRoomSnap(tc.cond, tc.free), 1000)
			if len(p.Preemptions) != 1 || p.Preemptions[0].Victim != "dep" || len(p.Preemptions[0].Replicas) != 1 || p.Preemptions[0].Replicas[0].Node == "n1" {
				t.Fatalf("preemptions %+v; want dep's replica on n2 or n3 alone", p.Preemptions)
			}
		})
	}
}
