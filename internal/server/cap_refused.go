package server

import (
	"fmt"
	"slices"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// A start whose power cap a GPU of its node refuses is not started (the
// agent fails it with exit code 126 and api.TaskStatus.CapRefused): at
// the GPU's higher limit it would draw more than the scheduler counts.
// The attempt fails, and the job's next attempts would be placed on the
// same node again (the best fit has not changed), capped again, and
// refused again, until the job's retries are spent. So the node is
// added to the job's api.Job.AvoidNodes, which the snapshot hands to the
// core (model.Snapshot.AvoidNodes): the core places the job elsewhere,
// or, where nothing else fits, keeps it waiting with a reason that
// counts the node "excluded by failed-start". The list lasts as long as
// the job (a node whose GPUs refuse a cap refuses it for as long as its
// range or its catalog entry is not corrected), and survives restarts
// with the job's record.

// A start its agent could not make for another cause of the node's own
// (api.TaskStatus.AvoidNode: the program, its interpreter or the work
// directory missing there, docs/operations.md "Failures") is avoided
// alike: retried on the same node it fails the same way, while another
// node may have what this one lacks.

// avoidNode adds node to js's AvoidNodes, recording an event, replica
// being the one that could not start there, why the node's cause.
// Caller holds mu.
func (s *Server) avoidNode(js *jobState, node string, replica int, why string, c *changes) {
	if slices.Contains(js.doc.AvoidNodes, node) {
		return
	}
	// A new slice: the snapshot a pass reads without the lock may hold
	// the old one.
	js.doc.AvoidNodes = append(slices.Clip(js.doc.AvoidNodes), node)
	s.avoid[js.doc.ID] = slices.Clone(js.doc.AvoidNodes)
	c.job(js, api.EventReplica, fmt.Sprintf("replica %d could not start on %s: %s; "+
		"the job's next attempts avoid %s", replica, node, why, node))
}

// avoidReported adds node to js's AvoidNodes when task report t says
// its start failed for a cause of the node's (a GPU refused its cap,
// or AvoidNode). Caller holds mu.
func (s *Server) avoidReported(js *jobState, node string, t api.TaskStatus, c *changes) {
	switch {
	case t.State != api.ReplicaFailed:
	case t.CapRefused:
		s.avoidNode(js, node, t.Replica, "a GPU there refused its power cap", c)
	case t.AvoidNode:
		s.avoidNode(js, node, t.Replica, "a cause of that node's ("+t.Error+")", c)
	}
}

// avoidsEveryNode reports whether js's AvoidNodes holds every node of
// the facility that could hold one of its replicas (enough GPUs, of a
// model it takes): none of its retries could start, and it would wait
// for ever. Other constraints (sovereignty, power) are not weighed: a
// node they rule out counts as one it could use, so a job is never
// failed here that could start somewhere. Caller holds mu.
func (s *Server) avoidsEveryNode(js *jobState) bool {
	if len(js.doc.AvoidNodes) == 0 || js.job.Kind == model.KindDeployment {
		return false
	}
	for _, n := range s.fac.Nodes {
		if js.job.GPUsPerReplica > 0 && (n.GPUs < js.job.GPUsPerReplica ||
			len(js.job.GPUModels) > 0 && !slices.Contains(js.job.GPUModels, n.GPUModel)) {
			continue // could not hold a replica anyway
		}
		if !slices.Contains(js.doc.AvoidNodes, n.Name) {
			return false
		}
	}
	return true
}
