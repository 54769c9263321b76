package server

import (
	"context"
	"fmt"

	"github.com/carnot-dc/carnot/internal/api"
)

// A node stored by an earlier start that the facility file no longer
// admits as stored (removed from the file, its site removed, moved to
// another site, its GPU model gone from the catalog) is handled once, at
// the start that finds it:
//
//   - its live replicas are lost (reload), and its jobs handled whole by
//     their restart policy, as for a node that died: the server no longer
//     hears from its agent, which it refuses from now;
//   - a node the file no longer lists (and the server does not admit
//     dynamically) is forgotten: the store deletes it, in the transaction
//     that records the node event saying so (actor server:config);
//   - a node the file still lists keeps its place there and an
//     operator's drain and fence, and is stored afresh as the file gives
//     it, unregistered until its agent registers as the file says, with a
//     node event saying so.
//
// The next start finds nothing to say of it.

// keepFlags carries the drain and fence of stored node doc, which the
// facility no longer admits as stored, over to the node of the same
// name the facility file lists, if any. Caller has the server to itself.
func (s *Server) keepFlags(doc *api.Node) {
	if n := s.nodes[doc.Name]; n != nil && !n.registered {
		n.doc.Drained, n.doc.Fenced = doc.Drained, doc.Fenced
	}
}

// unfitNodes records an event for each stored node that no longer fits
// the facility (unfit: why), naming the jobs that lost replicas there
// (lost), stores afresh those the facility lists, and returns the
// removal events of the others, for forgetNodes. Caller has the server
// to itself.
func (s *Server) unfitNodes(unfit map[string]error, lost map[string]map[string]bool, c *changes) []api.Event {
	var gone []api.Event
	for _, name := range sortedKeys(unfit) {
		why := ""
		if k := len(lost[name]); k > 0 {
			why = fmt.Sprintf("; the replicas of %d job(s) on it are lost (its agent, refused from now, may still run them until it is stopped)", k)
		}
		if n := s.nodes[name]; n != nil {
			msg := fmt.Sprintf("node %s as stored no longer fits the facility (%v): it keeps its place in the facility file, and its drain and fence, "+
				"and is not registered until its agent registers as the file says%s", name, unfit[name], why)
			c.node(n, "", "")
			c.events = append(c.events, api.Event{Node: name, Type: api.EventNode, Message: msg, Actor: actorConfig})
			s.log.Warn("stored node no longer fits the facility; stored afresh as the facility file gives it", "node", name, "err", unfit[name], "jobs_lost", len(lost[name]))
			continue
		}
		gone = append(gone, api.Event{Node: name, Type: api.EventNode, Actor: actorConfig,
			Message: fmt.Sprintf("node %s removed: it is no longer in the facility (%v); forgotten%s", name, unfit[name], why)})
		s.log.Warn("stored node is no longer in the facility; forgotten", "node", name, "err", unfit[name], "jobs_lost", len(lost[name]))
	}
	return gone
}

// forgetNodes deletes the nodes of removal events evs from the store, in
// the transaction that records the events, and hands the events to the
// watchers.
func (s *Server) forgetNodes(ctx context.Context, evs []api.Event) error {
	if len(evs) == 0 {
		return nil
	}
	names := make([]string, len(evs))
	now := s.cfg.Now().UTC()
	for i := range evs {
		names[i] = evs[i].Node
		evs[i].Time, evs[i].Message = now, clip(evs[i].Message)
	}
	wr := s.watch.begin()
	defer wr.failed(true) // should ForgetNodes panic; a no-op once ended
	if err := s.store.ForgetNodes(ctx, names, evs); err != nil {
		wr.failed(maybeSaved(ctx, err))
		return fmt.Errorf("server: forgetting nodes no longer in the facility: %w", err)
	}
	wr.done(evs)
	return nil
}
