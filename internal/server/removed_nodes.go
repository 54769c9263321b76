package server

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

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
//   - unless it may still run work (replicas lost at this start, or
//     unreachable already) in a site the file still has: its agent,
//     refused, cannot be told to stop it, and its GPUs draw on. It is
//     kept, removed (api.Node.Removed) and unreachable, in its own rack
//     of its site's first hall, as a node that joined by itself: counted
//     at nameplate, given nothing, its agent refused, until an operator
//     fences it (it is off) and forgets it, or, with
//     Config.StopAfterDisconnect, until its agent has surely stopped its
//     work, when it counts as a down node until forgotten (the next
//     start forgets it);
//   - a node the file still lists keeps its place there and an
//     operator's drain and fence, and is stored afresh as the file gives
//     it, unregistered until its agent registers as the file says, with a
//     node event saying so;
//   - unless the file moved it to another site while it may still run
//     work in the one it was in: its GPUs draw there, and its agent,
//     refused, cannot be told to stop. It is kept in its old site as a
//     removed node is (the file's listing waits), until an operator
//     fences and forgets it there: it then takes its place in the file's
//     site (forget-node), or at the next start once its agent has surely
//     stopped its work (Config.StopAfterDisconnect).
//
// The next start finds nothing to say of it.

// lostOnRemoved is the error of a replica lost on a node the facility no
// longer admits.
const lostOnRemoved = "its node is no longer in the facility"

// loseOnUnadmitted, at reload, ends the live replicas on the nodes the
// facility no longer admits (none, or one not registered as the file
// gives it), whose agents it refuses: at once, or, with
// Config.StopAfterDisconnect, once those agents have stopped them
// (losing, as stillSilent does for a silent node: counted from now, as
// the agent's last answered call was before). It returns, per node, the
// jobs with replicas there, and notes when they count as lost. Caller
// has the server to itself.
func (s *Server) loseOnUnadmitted(now time.Time, c *changes) map[string]map[string]bool {
	jobs := map[string]map[string]bool{}
	grace := map[string]time.Duration{}
	for _, id := range sortedKeys(s.running) {
		js := s.running[id]
		for i := range js.doc.Replicas {
			r := &js.doc.Replicas[i]
			if n := s.nodes[r.Node]; !live(r) || n != nil && n.registered || js.alloc == nil {
				continue
			}
			if jobs[r.Node] == nil {
				jobs[r.Node] = map[string]bool{}
			}
			jobs[r.Node][id] = true
			g := max(s.cfg.KillTimeout, s.graceOf(js.job))
			if js.stop != stopNone {
				g = max(g, js.grace)
			}
			grace[r.Node] = max(grace[r.Node], g)
			if s.cfg.StopAfterDisconnect <= 0 {
				r.State, r.EndedAt, r.Error = api.ReplicaLost, ptrTime(now.UTC()), lostOnRemoved
				s.replicaEnded(js, i, now, c)
			}
		}
	}
	if s.cfg.StopAfterDisconnect > 0 {
		for node := range jobs {
			s.losing[node] = now.Add(s.cfg.StopAfterDisconnect + grace[node] + s.cfg.Heartbeat + disconnectMargin)
		}
	}
	return jobs
}

// loseDue ends the live replicas on the nodes of losing whose time has
// come, unless the node's agent registered again as the facility file
// gives it (its registration then said what it runs). Caller holds mu.
func (s *Server) loseDue(now time.Time, c *changes) {
	for _, node := range sortedKeys(s.losing) {
		if n := s.nodes[node]; n != nil && n.registered {
			delete(s.losing, node)
			continue
		}
		if now.Before(s.losing[node]) {
			continue
		}
		delete(s.losing, node)
		if n := s.nodes[node]; n != nil && n.doc.Removed && n.doc.Unreachable {
			n.doc.Unreachable = false
			c.node(n, api.EventNode, fmt.Sprintf("node %s, removed from the facility, has stopped its work (stop after disconnect): it counts as a down node until it is forgotten (carnot forget-node %s, or the next start)", node, node))
		}
		for _, id := range sortedKeys(s.running) {
			js := s.running[id]
			for i := range js.doc.Replicas {
				if r := &js.doc.Replicas[i]; r.Node == node && live(r) && js.alloc != nil {
					r.State, r.EndedAt, r.Error = api.ReplicaLost, ptrTime(now.UTC()), lostOnRemoved+", and its agent has stopped it"
					s.replicaEnded(js, i, now, c)
				}
			}
		}
	}
}

// keepRemoved keeps, removed (see the top of the file), each node of
// docs, the stored nodes the facility no longer admits (unfit, which
// no longer names those kept), that the facility file no longer lists
// while it may still run work: replicas lost at this start (lost) or
// unreachable, in a site of the file, with a GPU model of its catalog.
// One such node whose GPU model the catalog no longer has is an error:
// its GPUs would draw in its site's envelope, counted nowhere (see
// noNameplate). Caller has the server to itself.
func (s *Server) keepRemoved(docs map[string]*api.Node, unfit map[string]error, lost map[string]map[string]bool, c *changes) error {
	var uncounted []string
	for _, name := range sortedKeys(docs) {
		doc := *docs[name]
		if len(lost[name]) == 0 && !doc.Unreachable {
			continue
		}
		site := slices.IndexFunc(s.fac.Sites, func(st model.Site) bool { return st.ID == doc.Site })
		if site < 0 {
			continue // no envelope left to count in
		}
		if _, ok := s.fac.GPUModels[doc.GPUModel]; doc.GPUs > 0 && !ok {
			uncounted = append(uncounted, noNameplate(doc, len(lost[name])))
			continue
		}
		movedTo := ""
		if n := s.nodes[name]; n != nil {
			// The file lists it: in another site (moved), what it may
			// still run draws in the one it was in, where it stays;
			// the file's listing waits (handleForgetNode).
			if n.registered || n.doc.Site == doc.Site {
				continue
			}
			movedTo = n.doc.Site
			s.dropNode(name)
		}
		mn := model.Node{Name: name, Site: doc.Site, GPUModel: doc.GPUModel, GPUs: doc.GPUs, CPUs: doc.CPUs, MemoryGiB: doc.MemoryGiB}
		hall := ""
		if i := slices.IndexFunc(s.fac.Halls, func(h model.Hall) bool { return h.Site == doc.Site }); i >= 0 {
			hall = s.fac.Halls[i].ID
		}
		rack := model.Rack{ID: "rack-" + name, Hall: hall}
		mn.Hall, mn.Rack, mn.NVLinkDomain, mn.Leaf = hall, rack.ID, name, "leaf-"+name
		s.setFacilityNode(-1, mn, &rack)
		first := !doc.Removed
		doc.Removed, doc.Unreachable, doc.Condition = true, true, api.NodeNotReady
		n := s.newNode(mn, doc)
		s.nodes[name] = n
		err := unfit[name]
		delete(unfit, name)
		if !first {
			c.node(n, "", "")
			continue
		}
		why := ""
		if k := len(lost[name]); k > 0 {
			why = fmt.Sprintf("; the replicas of %d job(s) on it are lost", k)
			if at := s.losing[name]; !at.IsZero() {
				why = fmt.Sprintf("; the replicas of %d job(s) on it count as lost at %s, once its agent, refused from now, has stopped them (stop after disconnect)",
					k, at.UTC().Format(time.RFC3339))
			}
		}
		c.node(n, "", "")
		msg := fmt.Sprintf("node %s removed: it is no longer in the facility (%v), but may still run work%s; its agent is refused from now and cannot be told to stop it, "+
			"so it stays in site %s, unreachable: its power counts at nameplate and it takes no work until you fence it once it is off (carnot fence %s) and forget it (carnot forget-node %s)",
			name, err, why, doc.Site, name, name)
		if movedTo != "" {
			msg = fmt.Sprintf("node %s moved to site %s by the facility file (%v), but may still run work in site %s%s; its agent is refused from now and cannot be told to stop it, "+
				"so it stays in site %s, removed and unreachable: its power counts there at nameplate and it takes no work until you fence it once it is off (carnot fence %s) "+
				"and forget it there (carnot forget-node %s); it then takes its place in site %s",
				name, movedTo, err, doc.Site, why, doc.Site, name, name, movedTo)
		}
		c.events = append(c.events, api.Event{Node: name, Type: api.EventNode, Actor: actorConfig, Message: msg})
		s.log.Warn("stored node is no longer in the facility as stored but may still run work; its power counts at nameplate in its old site until it is fenced and forgotten",
			"node", name, "site", doc.Site, "moved_to", movedTo, "jobs_lost", len(lost[name]))
	}
	if len(uncounted) > 0 {
		return fmt.Errorf("server: the facility file's GPU catalog no longer has the model of %s: its GPUs would draw in the site's power envelope, counted nowhere. "+
			"Start with the model back in the catalog (its node may stay out of the file), fence the node once it is off and forget it (carnot fence NODE, carnot forget-node NODE), then remove the model; no job or node was changed",
			strings.Join(uncounted, "; "))
	}
	return nil
}

// noNameplate says why removed node doc, which may still run work (the
// replicas of lost jobs lost at this start, or unreachable already),
// cannot be counted.
func noNameplate(doc api.Node, lost int) string {
	why := "it was unreachable"
	if lost > 0 {
		why = fmt.Sprintf("the replicas of %d job(s) ran there", lost)
	}
	return fmt.Sprintf("node %s (model %s, %d GPUs, site %s), which may still run work (%s)", doc.Name, doc.GPUModel, doc.GPUs, doc.Site, why)
}

// fileNode is node name as the facility file lists it, if it does.
func (s *Server) fileNode(name string) (model.Node, bool) {
	i := slices.IndexFunc(s.cfg.Facility.Nodes, func(m model.Node) bool { return m.Name == name })
	if i < 0 {
		return model.Node{}, false
	}
	return s.cfg.Facility.Nodes[i], true
}

// listedNode is the state of node n of the facility file before its
// agent registers.
func (s *Server) listedNode(n model.Node) *nodeState {
	return s.newNode(n, api.Node{Name: n.Name, Site: n.Site, GPUModel: n.GPUModel, GPUs: n.GPUs,
		CPUs: n.CPUs, MemoryGiB: n.MemoryGiB, Condition: api.NodeNotReady})
}

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
		switch k, at := len(lost[name]), s.losing[name]; {
		case k > 0 && !at.IsZero():
			why = fmt.Sprintf("; the replicas of %d job(s) on it count as lost at %s, once its agent, refused from now, has stopped them (stop after disconnect)",
				k, at.UTC().Format(time.RFC3339))
		case k > 0:
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
// node with the GPU UUIDs has (see above): what an operator may forget
// (unforgettable), registered, neither drained nor fenced, and every GPU
// it had the new node's. Caller holds mu.
func (s *Server) renamedAs(o *nodeState, has map[string]bool) bool {
	if !o.registered || len(o.doc.GPUUUIDs) == 0 || o.doc.Drained || o.doc.Fenced || s.unforgettable(o) != "" {
		return false
	}
	for _, u := range o.doc.GPUUUIDs {
		if !has[u] {
			return false
		}
	}
	return true
}

// dropNode takes node name out of memory and out of the facility, with
// the rack made for it when it joined (admitNode). Caller holds mu.
func (s *Server) dropNode(name string) {
	if n := s.nodes[name]; n != nil {
		n.wake() // a long poll of its agent answers at once
	}
	delete(s.nodes, name)
	f := *s.fac
	f.Nodes = slices.DeleteFunc(slices.Clone(f.Nodes), func(m model.Node) bool { return m.Name == name })
	rack := "rack-" + name
	if !slices.ContainsFunc(s.cfg.Facility.Racks, func(r model.Rack) bool { return r.ID == rack }) {
		f.Racks = slices.DeleteFunc(slices.Clone(f.Racks), func(r model.Rack) bool { return r.ID == rack })
	}
	s.fac = &f
}
