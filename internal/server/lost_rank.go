package server

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
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

// A deployment's attempt may end, and the deployment be queued again
// (its restart policy, a preemption), while replicas of that attempt may
// still run on silent nodes: one kept above as its other replicas all
// ended, or its last replicas lost with their nodes. Its next attempt
// hands out ranks 0..n-1 afresh, so that a start meanwhile would give
// their ranks twice. As a StatefulSet creates no pod under an identity
// whose pod may still run, the deployment stays out of the queue until
// none of them may (mayStillRun): their nodes' agents report them
// stopped, or an operator fences the nodes. The store keeps the wait:
// the job pending, its record holding the attempt's replicas (until the
// next start), those lost and not released, their nodes unreachable.

// silentReplicas lists the replicas of pending deployment js's last
// attempt that may still run on a silent node. Caller holds mu.
func (s *Server) silentReplicas(js *jobState) []*api.Replica {
	if js.job.Kind != model.KindDeployment || js.doc.State != api.StatePending {
		return nil
	}
	var out []*api.Replica
	for i := range js.doc.Replicas {
		if r := &js.doc.Replicas[i]; s.mayStillRun(r) {
			out = append(out, r)
		}
	}
	return out
}

// holdForSilent keeps deployment js out of the queue while a replica of
// its last attempt may still run, and returns those replicas. Caller
// holds mu or has the server to itself.
func (s *Server) holdForSilent(js *jobState) []*api.Replica {
	rs := s.silentReplicas(js)
	if len(rs) > 0 {
		js.awaitSilent = true
		s.silentWait[js.doc.ID] = js
	}
	return rs
}

// waitForSilent, as deployment js's attempt ends, holds it
// (holdForSilent) and says why. Caller holds mu.
func (s *Server) waitForSilent(js *jobState, c *changes) {
	rs := s.holdForSilent(js)
	if len(rs) == 0 {
		return
	}
	var which, nodes []string
	for _, r := range rs {
		which = append(which, fmt.Sprintf("replica %d (rank %d) on %s", r.Index, r.Rank, r.Node))
		if !slices.Contains(nodes, r.Node) {
			nodes = append(nodes, r.Node)
		}
	}
	js.doc.Message += "; waits for node " + strings.Join(nodes, ", ")
	c.job(js, api.EventReplica, fmt.Sprintf("attempt %d waits: %s may still run, its node silent; it is queued once the node's agent reports it stopped, or an operator fences the node",
		js.doc.Attempt+1, strings.Join(which, ", ")))
}

// releaseSilentWaits queues the deployments held by holdForSilent whose
// replicas no longer may run. Caller holds mu.
func (s *Server) releaseSilentWaits(c *changes) {
	for _, id := range slices.Sorted(maps.Keys(s.silentWait)) {
		js := s.silentWait[id]
		if s.jobs[id] == js && len(s.silentReplicas(js)) > 0 {
			continue
		}
		js.awaitSilent = false
		delete(s.silentWait, id)
		if s.jobs[id] != js || js.doc.State != api.StatePending {
			continue
		}
		if i := strings.LastIndex(js.doc.Message, "; waits for node "); i >= 0 {
			js.doc.Message = js.doc.Message[:i]
		}
		s.requeue(js)
		c.kick = true
		c.job(js, api.EventReplica, fmt.Sprintf("attempt %d no longer waits: no replica of attempt %d may still run", js.doc.Attempt+1, js.doc.Attempt))
	}
}

// releaseUnkept, at reload, releases each replica a running deployment
// kept for its silent node that this start no longer keeps (mayStillRun
// says no more: the node left the facility file, or the server now runs
// with Config.StopAfterDisconnect). restoreAlloc left it out of the
// allocation and its rank is free for its replacement; unreleased, it
// would be counted at the attempt's end as holding its GPUs all along
// (gpuSeconds). Its GPU time is counted to now, as releaseCleared's
// release does. Caller has the server to itself, after the jobs'
// allocations are restored.
func (s *Server) releaseUnkept(now time.Time, c *changes) {
	for _, id := range sortedKeys(s.running) {
		js := s.running[id]
		if !releasesReplicas(js) {
			continue
		}
		for i := range js.doc.Replicas {
			r := &js.doc.Replicas[i]
			if r.State != api.ReplicaLost || r.Released || r.ReplaceAt != nil || js.awaitNode[r.Index] {
				continue
			}
			if gs := replicaSeconds(js, r, now) * float64(len(r.GPUs)); gs > 0 {
				js.doc.Usage.GPUSeconds += gs
				s.charge(js.job.Tenant, gs, model.TimeOf(now))
			}
			r.Released = true
			c.job(js, api.EventReplica, fmt.Sprintf("replica %d is no longer kept for node %s: its rank %d goes to its replacement", r.Index, r.Node, r.Rank))
		}
	}
}
