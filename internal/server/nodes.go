package server

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// errRefused marks a registration the facility does not allow.
var errRefused = errors.New("registration refused")

// admitNode registers (or re-registers) a node from its agent's report,
// placing it in the facility: at its place when the facility lists it,
// else — with DynamicNodes — in a rack of its own in its site's first
// hall. A node claiming another site than the facility gives it is
// refused. Caller holds mu (or is New).
func (s *Server) admitNode(doc api.Node, fromAgent bool) error {
	n := s.nodes[doc.Name]
	if n != nil && n.doc.Removed {
		// kept only to count what it may still run (removed_nodes.go)
		if fn, ok := s.fileNode(doc.Name); ok {
			return fmt.Errorf("%w: node %s, moved to site %s by the facility file, may still run work in site %s (kept there, at nameplate, until an operator fences and forgets it there)",
				errRefused, doc.Name, fn.Site, n.doc.Site)
		}
		return fmt.Errorf("%w: node %s is no longer in the facility (kept, at nameplate, until an operator fences and forgets it)", errRefused, doc.Name)
	}
	doc.Removed = false // admitted: listed again, or joining by itself
	listed := -1
	for i := range s.fac.Nodes {
		if s.fac.Nodes[i].Name == doc.Name {
			listed = i
			break
		}
	}
	if listed >= 0 && s.fac.Nodes[listed].Site != doc.Site {
		return fmt.Errorf("%w: node %s is in site %s of the facility, not %s", errRefused, doc.Name, s.fac.Nodes[listed].Site, doc.Site)
	}
	site := -1
	for i := range s.fac.Sites {
		if s.fac.Sites[i].ID == doc.Site {
			site = i
		}
	}
	if site < 0 {
		return fmt.Errorf("%w: no site %q in the facility (sites: %s)", errRefused, doc.Site, s.siteNames())
	}
	if listed < 0 && !s.cfg.DynamicNodes {
		return fmt.Errorf("%w: node %s is not in the facility and the server does not admit other nodes", errRefused, doc.Name)
	}
	if doc.GPUs > 0 {
		if _, ok := s.fac.GPUModels[doc.GPUModel]; !ok {
			return fmt.Errorf("%w: GPU model %q of node %s is not in the facility's catalog", errRefused, doc.GPUModel, doc.Name)
		}
	}
	mn := model.Node{Name: doc.Name, Site: doc.Site, GPUModel: doc.GPUModel, GPUs: doc.GPUs, CPUs: doc.CPUs, MemoryGiB: doc.MemoryGiB}
	if listed >= 0 {
		old := s.fac.Nodes[listed]
		mn.Hall, mn.Rack, mn.NVLinkDomain, mn.Leaf, mn.Spine, mn.BaseWatts = old.Hall, old.Rack, old.NVLinkDomain, old.Leaf, old.Spine, old.BaseWatts
		if old != mn {
			s.log.Warn("node differs from the facility; using what its agent reports", "node", doc.Name,
				"facility", fmt.Sprintf("%d×%s %d CPUs %d GiB", old.GPUs, old.GPUModel, old.CPUs, old.MemoryGiB),
				"agent", fmt.Sprintf("%d×%s %d CPUs %d GiB", mn.GPUs, mn.GPUModel, mn.CPUs, mn.MemoryGiB))
			s.setFacilityNode(listed, mn, nil)
		}
	} else {
		hall := ""
		for _, h := range s.fac.Halls {
			if h.Site == doc.Site {
				hall = h.ID
				break
			}
		}
		rack := model.Rack{ID: "rack-" + doc.Name, Hall: hall}
		mn.Hall, mn.Rack, mn.NVLinkDomain, mn.Leaf = hall, rack.ID, doc.Name, "leaf-"+doc.Name
		s.setFacilityNode(-1, mn, &rack)
	}
	if n == nil {
		if fromAgent {
			doc.Unreachable = false // the server's to say
		}
		n = s.newNode(mn, doc)
		s.nodes[doc.Name] = n
	} else {
		// An agent's report leaves the server's flags as they are; a
		// stored node (reload) carries them, over the blank ones of
		// the facility file's node New made.
		drained, fenced, unreachable := n.doc.Drained, n.doc.Fenced, n.doc.Unreachable
		n.doc = doc
		if fromAgent {
			n.doc.Drained, n.doc.Fenced, n.doc.Unreachable = drained, fenced, unreachable
		}
		n.node = mn
		n.siteIdx = site
		if len(n.gpus) != mn.GPUs {
			// The GPUs it still has keep their claims: a job a victim
			// was stopped for holds them until it starts.
			gpus := make([]model.GPUState, mn.GPUs)
			copy(gpus, n.gpus)
			n.gpus = gpus
		}
	}
	n.siteIdx = site
	n.registered = true
	if fromAgent {
		n.heardAtReload = false
		n.doc.Condition = api.NodeReady
		n.loseAt = time.Time{}
		n.leaving = false // a new agent: it says so again if it leaves
		// Its energy starts afresh: the time its agent was away is
		// not filled with the power it read before.
		clear(n.lastSample)
	}
	return nil
}

// refusalEvery is how often a registration refused again for the same
// reason is recorded again.
const refusalEvery = time.Hour

// refusal is a registration refusal recorded as an event.
type refusal struct {
	why string
	at  time.Time
}

// newRefusal reports whether the refusal of node's registration for why
// at now is to be recorded (and notes it): the agent of a node the
// facility no longer admits retries every few seconds for as long as it
// runs, and its refusal is recorded when its reason changes, and once
// every refusalEvery, not at every retry. Caller holds mu.
func (s *Server) newRefusal(node, why string, now time.Time) bool {
	if last, ok := s.refusals[node]; ok && last.why == why && now.Sub(last.at) < refusalEvery {
		return false
	}
	s.refusals[node] = refusal{why: why, at: now}
	return true
}

// setFacilityNode replaces the facility by a copy with node i replaced
// (i ≥ 0) or n and its rack added (i < 0). The core caches what it
// derives from a facility by its address, so the facility is never
// changed in place.
func (s *Server) setFacilityNode(i int, n model.Node, rack *model.Rack) {
	f := *s.fac
	f.Nodes = slices.Clone(f.Nodes)
	if i >= 0 {
		f.Nodes[i] = n
	} else {
		f.Nodes = append(f.Nodes, n)
	}
	if rack != nil && rack.Hall != "" {
		f.Racks = append(slices.Clone(f.Racks), *rack)
	}
	s.fac = &f
}

func (s *Server) siteNames() string {
	var names []string
	for _, st := range s.fac.Sites {
		names = append(names, st.ID)
	}
	return fmt.Sprint(names)
}

// checkSilentNodes marks nodes silent for the heartbeat timeout
// not-ready and their replicas lost: at once, or, with
// Config.StopAfterDisconnect, once their agents have stopped them
// (loseAt). Caller holds mu.
func (s *Server) checkSilentNodes(now time.Time, c *changes) {
	for _, name := range s.nodeNames() {
		n := s.nodes[name]
		if !n.loseAt.IsZero() && !now.Before(n.loseAt) {
			n.loseAt = time.Time{}
			s.loseReplicas(n, fmt.Sprintf("its node stopped reporting, and its agent stopped it after %s without the server", s.cfg.StopAfterDisconnect), now, c)
		}
		if !n.registered || n.doc.Condition == api.NodeNotReady || now.Sub(n.doc.LastHeartbeat) <= s.cfg.HeartbeatTimeout {
			continue
		}
		n.doc.Condition = api.NodeNotReady
		msg := fmt.Sprintf("node %s is not ready: no heartbeat for %s", name, now.Sub(n.doc.LastHeartbeat).Round(time.Second))
		if n.heardAtReload { // its last heartbeat is not kept: say what is known
			msg = fmt.Sprintf("node %s is not ready: no heartbeat since the server started %s ago (the last one before is not known)",
				name, now.Sub(n.doc.LastHeartbeat).Round(time.Second))
		}
		live := s.liveJobs(n)
		switch {
		case live > 0: // lost below, but it may still run them
			msg += fmt.Sprintf("; it may still run the replicas of %d job(s) it had, so its power counts at nameplate until its agent reports them stopped", live)
		case n.doc.Unreachable: // it still reported running what it was not assigned
			msg += "; it may still run tasks it last reported running, so its power counts at nameplate until its agent reports them stopped"
		}
		if live > 0 {
			n.unreachable(c)
		}
		if at := s.stoppedBy(n, n.doc.LastHeartbeat); at.After(now) {
			n.loseAt = at
			msg += fmt.Sprintf("; its agent stops them after %s without the server, and they count as lost at %s", s.cfg.StopAfterDisconnect, at.UTC().Format(time.RFC3339))
			c.node(n, api.EventNode, msg)
			continue
		}
		c.node(n, api.EventNode, msg)
		s.loseReplicas(n, "its node stopped reporting", now, c)
	}
}

// stillSilent, at reload, takes over the wait of each node stored not
// ready with live replicas: its predecessor was waiting, under
// Config.StopAfterDisconnect, for its agent to stop them (loseAt is not
// stored). Nodes count as heard from at reload, so they count as lost
// at stoppedBy from now, never before the agent stopped them; with the
// setting now off, at once, as checkSilentNodes would. Caller has the
// server to itself.
func (s *Server) stillSilent(now time.Time, c *changes) {
	for _, name := range s.nodeNames() {
		n := s.nodes[name]
		if !n.registered || n.doc.Condition != api.NodeNotReady || n.doc.Fenced || s.liveJobs(n) == 0 {
			continue
		}
		if at := s.stoppedBy(n, now); at.After(now) {
			n.loseAt = at
			s.log.Info("a node silent before the restart keeps its replicas until its agent has stopped them", "node", name, "lost_at", at)
			continue
		}
		s.loseReplicas(n, "its node stopped reporting", now, c)
	}
}

// disconnectMargin covers, in stoppedBy, the agent's timer and a
// process's exit after SIGKILL (the agent counts from when it sent its
// last answered heartbeat, which is before the server recorded it).
const disconnectMargin = 2 * time.Second

// stoppedBy is when silent node n's agent has stopped every replica it
// runs, under Config.StopAfterDisconnect: heard, when it was last heard
// from, plus that, plus the longest grace among its jobs, plus a margin;
// zero when the setting is off or the node runs nothing. Caller holds mu.
func (s *Server) stoppedBy(n *nodeState, heard time.Time) time.Time {
	if s.cfg.StopAfterDisconnect <= 0 || s.liveJobs(n) == 0 {
		return time.Time{}
	}
	grace := s.cfg.KillTimeout
	for id := range n.jobs {
		if js := s.jobs[id]; js != nil {
			grace = max(grace, s.graceOf(js.job))
			if js.stop != stopNone {
				grace = max(grace, js.grace)
			}
		}
	}
	return heard.Add(s.cfg.StopAfterDisconnect + grace + s.cfg.Heartbeat + disconnectMargin)
}

// liveJobs counts the jobs with a live replica on n: n.jobs also holds
// those that keep the GPUs of replicas ended there (a gang's done
// early, a deployment's backing off), which its agent runs no more.
// Caller holds mu.
func (s *Server) liveJobs(n *nodeState) int {
	k := 0
	for id := range n.jobs {
		js := s.jobs[id]
		if js != nil && slices.ContainsFunc(js.doc.Replicas, func(r api.Replica) bool { return r.Node == n.doc.Name && live(&r) }) {
			k++
		}
	}
	return k
}

// loseReplicas ends every live replica on n as lost.
func (s *Server) loseReplicas(n *nodeState, why string, now time.Time, c *changes) {
	for _, id := range n.jobIDs() {
		js := s.jobs[id]
		if js == nil {
			continue
		}
		for i := range js.doc.Replicas {
			r := &js.doc.Replicas[i]
			if r.Node != n.doc.Name || !live(r) {
				continue
			}
			r.State, r.EndedAt, r.Error = api.ReplicaLost, ptrTime(now.UTC()), why
			s.replicaEnded(js, i, now, c)
		}
	}
}

func (s *Server) nodeNames() []string {
	names := make([]string, 0, len(s.nodes))
	for n := range s.nodes {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// nodeStates is the snapshot's node runtime state, sorted by name.
func (s *Server) nodeStates() []model.NodeState {
	out := make([]model.NodeState, 0, len(s.nodes))
	for _, name := range s.nodeNames() {
		n := s.nodes[name]
		out = append(out, model.NodeState{Node: name, Condition: n.condition(), GPUs: n.gpuStates()})
	}
	return out
}
