package server

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A replica lost with its silent node may still run there: without
// Config.StopAfterDisconnect nothing stops it until the node's agent is
// back and kills what is no longer assigned. A running deployment's
// replacement took the lost replica's rank at once (rank.go), so two
// processes held one RANK for as long as the partition lasted. As a
// Kubernetes StatefulSet does not replace a pod of an unreachable node
// until the node is known gone (at most one pod per identity), a
// deployment's replica lost while its node may still run it keeps its
// rank and its GPUs, and is not replaced, until the node is clear: its
// agent reports that it no longer runs it (api.Node.Unreachable ends), or
// an operator fences the node. The deployment runs one replica short
// meanwhile. The store keeps the wait: the replica lost and not
// released, its node unreachable (restoreAlloc).

// mayStillRun reports whether ended replica r was lost with a node that
// may still run it. With Config.StopAfterDisconnect none is: a silent
// node's replicas count as lost only once its agent has stopped them.
// Caller holds mu.
func (s *Server) mayStillRun(r *api.Replica) bool {
	n := s.nodes[r.Node]
	return s.cfg.StopAfterDisconnect <= 0 && r.State == api.ReplicaLost && !r.Released &&
		n != nil && n.doc.Unreachable && !n.doc.Fenced
}

// keepLost keeps lost replica i of running deployment js, which its node
// may still run, in the deployment's allocation: its rank and GPUs stay
// its own until the node is clear (releaseCleared). Caller holds mu.
func (s *Server) keepLost(js *jobState, i int, c *changes) {
	r := &js.doc.Replicas[i]
	if js.awaitNode == nil {
		js.awaitNode = map[int]bool{}
	}
	js.awaitNode[r.Index] = true
	c.job(js, api.EventReplica, fmt.Sprintf("replica %d keeps its rank %d: node %s may still run it; it is replaced once the node's agent reports it stopped, or an operator fences the node",
		r.Index, r.Rank, r.Node))
}

// releaseCleared releases the replicas kept for node n (keepLost) once
// n is clear: not unreachable, or fenced. Caller holds mu.
func (s *Server) releaseCleared(n *nodeState, now time.Time, c *changes) {
	if n.doc.Unreachable && !n.doc.Fenced {
		return
	}
	for _, id := range n.jobIDs() {
		js := s.jobs[id]
		if js == nil || len(js.awaitNode) == 0 {
			continue
		}
		for _, idx := range slices.Sorted(maps.Keys(js.awaitNode)) {
			pos := replicaAt(js.doc.Replicas, idx)
			if pos >= 0 && js.doc.Replicas[pos].Node != n.doc.Name {
				continue
			}
			delete(js.awaitNode, idx)
			if pos < 0 || js.doc.Replicas[pos].Released || js.alloc == nil {
				continue
			}
			r := &js.doc.Replicas[pos]
			s.release(js, pos, now, c)
			c.job(js, api.EventReplica, fmt.Sprintf("replica %d no longer runs on node %s: its rank %d goes to its replacement", r.Index, r.Node, r.Rank))
		}
	}
}
