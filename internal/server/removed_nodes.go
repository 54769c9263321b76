package server

import (
	"context"
	"fmt"
	"slices"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
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

// A node renamed (its machine's hostname changed) registers under its
// new name with its old name's GPUs, which NVML's UUIDs name for good.
// The old node, silent since, cannot come back with them: left, it would
// stay listed as not ready for ever, its GPUs counted in its site and its
// base and idle power reserved in its envelope. forgetRenamed forgets it,
// when that is all it can be: every GPU it had is the new node's; it is
// not ready, runs nothing and is not unreachable; no operator drained or
// fenced it (a word that must hold if it comes back); the facility file
// does not list it (the file is the operator's to change). A board
// swapped between machines moves some GPUs only, and forgets nothing.

// forgetRenamed forgets the nodes whose GPUs newly registered node n
// has, as above, with an event each of actor actor. Caller holds mu.
func (s *Server) forgetRenamed(ctx context.Context, n *nodeState, actor string) error {
	if len(n.doc.GPUUUIDs) == 0 {
		return nil
	}
	has := make(map[string]bool, len(n.doc.GPUUUIDs))
	for _, u := range n.doc.GPUUUIDs {
		has[u] = true
	}
	var evs []api.Event
	for _, name := range s.nodeNames() {
		o := s.nodes[name]
		if o == n || !s.renamedAs(o, has) {
			continue
		}
		evs = append(evs, api.Event{Node: name, Type: api.EventNode, Actor: actor,
			Message: fmt.Sprintf("node %s forgotten: its %d GPUs (by their UUIDs) registered as node %s; it was not ready and ran nothing (a node renamed)",
				name, len(o.doc.GPUUUIDs), n.doc.Name)})
	}
	if err := s.forgetNodes(ctx, evs); err != nil {
		return err
	}
	for _, ev := range evs {
		s.dropNode(ev.Node)
		s.log.Info("node forgotten: its GPUs registered under another name", "node", ev.Node, "as", n.doc.Name)
	}
	return nil
}

// renamedAs reports whether node o may be forgotten as renamed to the
// node with the GPU UUIDs has (see above). Caller holds mu.
func (s *Server) renamedAs(o *nodeState, has map[string]bool) bool {
	if !o.registered || len(o.doc.GPUUUIDs) == 0 || o.doc.Condition != api.NodeNotReady ||
		o.doc.Drained || o.doc.Fenced || o.doc.Unreachable || len(o.jobs) > 0 {
		return false
	}
	for _, u := range o.doc.GPUUUIDs {
		if !has[u] {
			return false
		}
	}
	return !slices.ContainsFunc(s.cfg.Facility.Nodes, func(m model.Node) bool { return m.Name == o.doc.Name })
}

// dropNode takes node name out of memory and out of the facility, with
// the rack made for it when it joined (admitNode). Caller holds mu.
func (s *Server) dropNode(name string) {
	delete(s.nodes, name)
	f := *s.fac
	f.Nodes = slices.DeleteFunc(slices.Clone(f.Nodes), func(m model.Node) bool { return m.Name == name })
	rack := "rack-" + name
	if !slices.ContainsFunc(s.cfg.Facility.Racks, func(r model.Rack) bool { return r.ID == rack }) {
		f.Racks = slices.DeleteFunc(slices.Clone(f.Racks), func(r model.Rack) bool { return r.ID == rack })
	}
	s.fac = &f
}
