package server

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// An operator retires a node that joined by itself (DynamicNodes) with
// DELETE /v1/nodes/{name} (carnot forget-node): left, it would be listed
// as not ready for ever, its GPUs counted in its site and its base and
// idle power reserved in its envelope. Only a node that can be nothing
// else is forgotten: the facility file does not list it (the file is the
// operator's word: remove it there), its agent is silent (not ready),
// and nothing may still run there (no live replica, not unreachable).
// The store deletes it in the transaction that records the node event
// saying who forgot it; an agent of that name that registers again later
// joins afresh, as any new node.

// handleForgetNode serves DELETE /v1/nodes/{name}.
func (s *Server) handleForgetNode(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nodes[name]
	if n == nil {
		problemf(w, http.StatusNotFound, "no node %q", name)
		return
	}
	if why := s.unforgettable(n); why != "" {
		problemf(w, http.StatusConflict, "node %s cannot be forgotten: %s", name, why)
		return
	}
	msg := fmt.Sprintf("node %s forgotten by an operator: it was not in the facility file, its agent was silent and it ran nothing", name)
	listed, moved := s.fileNode(name)
	if moved {
		// Kept in its old site for what it may have run (removed_nodes.go).
		msg = fmt.Sprintf("node %s forgotten in site %s by an operator: its agent was silent and it ran nothing there; it takes its place in site %s, as the facility file lists it",
			name, n.doc.Site, listed.Site)
	}
	ev := api.Event{Node: name, Type: api.EventNode, Actor: principalOf(r).Subject, Message: msg}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), commitTimeout)
	defer cancel()
	if err := s.forgetNodes(ctx, []api.Event{ev}); err != nil {
		s.fail(err)
		problemf(w, http.StatusServiceUnavailable, "could not be saved: %v", err)
		return
	}
	s.dropNode(name)
	if moved {
		s.setFacilityNode(-1, listed, nil)
		s.nodes[name] = s.listedNode(listed)
	}
	s.log.Info("node forgotten by an operator", "node", name, "by", ev.Actor)
	s.Kick()
	w.WriteHeader(http.StatusNoContent)
}

// unforgettable says why node n may not be forgotten, "" when it may.
// Caller holds mu.
func (s *Server) unforgettable(n *nodeState) string {
	switch {
	case !n.doc.Removed && slices.ContainsFunc(s.cfg.Facility.Nodes, func(m model.Node) bool { return m.Name == n.doc.Name }):
		// (A removed node the file lists was moved to another site:
		// forgetting it in its old site puts it there.)
		return "the facility file lists it; remove it there and restart the server"
	case n.registered && n.doc.Condition != api.NodeNotReady:
		timeout := s.cfg.HeartbeatTimeout
		if n.heardAtReload { // the server does not know whether its agent still runs
			left := max(timeout-s.cfg.Now().Sub(n.doc.LastHeartbeat), 0)
			return fmt.Sprintf("the server has not heard from its agent since it started: it may be forgotten once silent for the heartbeat timeout (%s), in about %s",
				timeout, left.Round(time.Second))
		}
		if n.leaving { // its agent was stopped: say when the node is silent
			left := max(timeout-s.cfg.Now().Sub(n.doc.LastHeartbeat), 0)
			return fmt.Sprintf("its agent is shutting down (its last heartbeat said so): it may be forgotten once silent for the heartbeat timeout (%s), in about %s",
				timeout, left.Round(time.Second))
		}
		return fmt.Sprintf("its agent still reports (it is %s); stop the agent first: the node may be forgotten once silent for the heartbeat timeout (%s)",
			n.apiCondition(), timeout)
	case len(n.jobs) > 0:
		return fmt.Sprintf("%d job(s) have live replicas on it", len(n.jobs))
	case n.doc.Unreachable || !s.losing[n.doc.Name].IsZero() || !n.loseAt.IsZero():
		return "it may still run work the server has not heard the end of (unreachable); fence it once it is powered off"
	}
	return ""
}
