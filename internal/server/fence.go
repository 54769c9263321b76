package server

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// Fencing is an operator-admin's word that a node is out of service:
// powered off or isolated, running nothing (Kubernetes' out-of-service
// taint). The server cannot tell a node that is off from one cut off
// that still runs its lost replicas; it counts the latter at nameplate
// (api.Node.Unreachable) until its agent reports them stopped. Fencing ends
// that wait: the lost replicas count as stopped, so the node counts as a
// down one (base and idle power reserved), and its live replicas, if it
// had any, are lost. A fenced node takes no work, whatever its agent
// says, until an operator unfences it: a node that flaps back does not
// silently undo an operator's confirmation, and the operator decides when
// the node is trusted again.
//
// An agent of a fenced node may still report running tasks (the node was
// not off after all). None is assigned — a fenced node has no live
// replica — so the agent stops them, as it stops any task it was not
// assigned; the node stays fenced but, while its agent reports them, it
// counts at nameplate again (they draw power), and an event says so.

// A fence of a node whose agent reports (ready or draining) while it
// runs work is refused unless the request says force=true: it would stop
// that work at once on the word of an operator who may have named the
// wrong node, or meant a drain (kubectl drain and nomad node drain
// likewise refuse what would lose work without --force). A silent node,
// a live one that runs nothing, and a revoked one (its agent can no
// longer report) are fenced at once.

// handleFence fences a node (fence true) or unfences it.
func (s *Server) handleFence(fence bool) http.HandlerFunc {
	if !fence {
		return s.nodeChange(s.fenceChange(false))
	}
	return func(w http.ResponseWriter, r *http.Request) {
		force, ok := queryBool(w, r, "force")
		if !ok {
			return
		}
		if !force {
			s.nodeChangeIf(s.liveWork, s.fenceChange(true))(w, r)
			return
		}
		// The check overridden is recorded with the fence.
		s.nodeChangeIf(nil, func(n *nodeState, c *changes) { s.fence(n, s.cfg.Now(), c, s.liveWork(n) != "") })(w, r)
	}
}

// liveWork says why fencing n without force is refused: its agent
// reports (nodeState.agentReports, as for reenroll-node's liveAgent) and
// it runs work, which the fence would stop; "" otherwise. Caller holds
// mu.
func (s *Server) liveWork(n *nodeState) string {
	if !n.agentReports() || n.doc.Unreachable {
		return ""
	}
	var jobs []string
	for _, id := range n.jobIDs() {
		js := s.jobs[id]
		if js == nil {
			continue
		}
		k := 0
		for i := range js.doc.Replicas {
			if r := &js.doc.Replicas[i]; r.Node == n.doc.Name && live(r) {
				k++
			}
		}
		if k > 0 {
			jobs = append(jobs, fmt.Sprintf("%s (tenant %s, %d replica(s))", id, js.doc.Tenant, k))
		}
	}
	if len(jobs) == 0 {
		return ""
	}
	list := jobs
	if len(list) > 10 {
		list = append(list[:10:10], fmt.Sprintf("and %d more", len(jobs)-10))
	}
	name := n.doc.Name
	ago := max(s.cfg.Now().Sub(n.doc.LastHeartbeat), 0).Round(time.Second)
	return fmt.Sprintf("node %s is live (%s; its agent reported %s ago) and runs %d job(s), whose replicas there a fence would stop now: %s. "+
		"To take it out of service and keep that work, drain it (carnot drain %s) and fence it once it runs nothing or is off; "+
		"to stop that work and fence it now: carnot fence --force %s (POST /v1/nodes/%s/fence?force=true)",
		name, n.apiCondition(), ago, len(jobs), strings.Join(list, ", "), name, name, name)
}

// fenceChange fences a node (fence true) or unfences it.
func (s *Server) fenceChange(fence bool) func(n *nodeState, c *changes) {
	return func(n *nodeState, c *changes) {
		switch {
		case fence:
			s.fence(n, s.cfg.Now(), c, false)
		case n.doc.Fenced:
			n.doc.Fenced = false
			msg := "node " + n.doc.Name + " unfenced: it takes work again when it is ready"
			if n.doc.Drained {
				msg = "node " + n.doc.Name + " unfenced: it is still drained: it takes no new work until undrained"
			}
			c.node(n, api.EventNode, msg)
			c.kick = true
		}
	}
}

// fence marks n fenced: its live replicas are lost and those it may still
// run since it went silent count as stopped. Fencing a fenced node again
// only confirms that what it reported running since has stopped. forced
// says the fence overrode liveWork's refusal, which its event records.
// Caller holds mu.
func (s *Server) fence(n *nodeState, now time.Time, c *changes, forced bool) {
	if n.doc.Fenced && !n.doc.Unreachable {
		return
	}
	name := n.doc.Name
	msg := "node " + name + " fenced: an operator confirmed it is out of service; it takes no work until unfenced"
	if n.doc.Fenced {
		msg = "node " + name + " fenced again: an operator confirmed it is out of service"
	}
	if forced {
		ago := max(now.Sub(n.doc.LastHeartbeat), 0).Round(time.Second)
		msg += fmt.Sprintf("; forced while its agent still reports (%s; its last heartbeat %s ago)", n.apiCondition(), ago)
	}
	if n.doc.Unreachable {
		msg += "; what it may still have run counts as stopped: its power counts as a down node's, not at nameplate"
	}
	if k := s.liveJobs(n); k > 0 {
		msg += fmt.Sprintf("; the replicas of %d job(s) on it are lost", k)
	}
	n.doc.Fenced, n.doc.Unreachable = true, false
	delete(s.losing, name) // a removed node's agent has nothing left to stop
	c.node(n, api.EventNode, msg)
	s.loseReplicas(n, "its node was fenced: an operator declared it out of service", now, c)
	s.releaseCleared(n, now, c)
	c.bump(name)
	c.kick = true
}

// fencedReport applies to fenced node n what its agent reports running
// (see Fencing above): while it reports a task running, n counts at
// nameplate (Unreachable), until a fresh report (orphansReport) of none;
// it records an event when that starts. It reports whether that
// changed. Caller holds mu.
func (s *Server) fencedReport(n *nodeState, tasks []api.TaskStatus, fresh bool, c *changes) bool {
	k := 0
	for _, t := range tasks {
		if _, _, rp := s.reported(n, t); t.State == api.ReplicaRunning && rp == nil {
			k++
		}
	}
	was := n.doc.Unreachable
	switch {
	case k > 0:
		n.unreachable(c)
	case fresh:
		n.doc.Unreachable = false
	}
	if n.doc.Unreachable && !was {
		c.node(n, api.EventNode, fmt.Sprintf("node %s is fenced but its agent reports %d task(s) running that it was not assigned: "+
			"its agent stops them; until it reports none, its power counts at nameplate; it stays fenced", n.doc.Name, k))
	}
	return n.doc.Unreachable != was
}
