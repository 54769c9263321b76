package server

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// A pass may start a job on power it takes back from running jobs: a
// recap lowers their caps to the caps they started with (recap.go), and
// the start counts on the watts that frees. On two nodes nothing orders
// the two: the new task could draw before the other agent had set the
// lower limit, and the site could pass its envelope for as long as that
// agent took. On one node the agent sets the lower limit before it
// starts a new task of the same answer, but starts it even when a GPU
// refused that limit, and both draw.
//
// So the server holds such a start's replicas back from their agents
// (tasksOf leaves them out) until every lowering it waits for is done:
// the lowered replica's agent reports a limit at or below the new cap
// (api.TaskStatus.PowerCapW) in a report built once it applied the
// lowering (limitReported), or an agent too old to report one reports
// the task (it never raised a cap, so the task draws at most the cap it
// started with, which no lowering goes below), or the lowered replica
// ended (lost with a silent node: once that node's agent reports that it
// runs none of what it lost, or the node is fenced), or a later recap
// raised it again (the pass that did counted the held start as running)
// and the agent reports a limit at or below the raised cap, or the cap
// was lifted.
// A start waits only for lowerings on nodes that share a power container
// (site, hall, rack) with one of its replicas' nodes, its own nodes
// among them, its own job's too (a deployment's new replica on power
// its other replicas give back).
//
// Later passes need no hold: until its agent reports the lower limit
// set, a lowered replica counts at the limit it had (api.Replica.
// PowerLimitW, powerlimit.go), so no pass counts on the power it may
// still draw, also once a held start that counted on it stopped.
//
// The hold is in the job's document (api.Replica.Held, api.Job.PowerWaits),
// and the lowerings it waits for in their replicas' (PowerLimitW),
// written with the start that makes it and with the change that ends
// it, so a restarted server or a new leader keeps both.

// lowerings lists the live replicas that recap rc lowers: a lower cap,
// or a cap where there was none; not one it leaves as it is (recapJob),
// such as a replica the same plan starts, which no recap takes below
// the cap it starts with. Caller holds mu, before rc is applied.
func (s *Server) lowerings(rc model.Recap) []api.PowerWait {
	js := s.running[rc.Job]
	if js == nil || rc.PowerCapW <= 0 {
		return nil
	}
	var out []api.PowerWait
	for i := range js.doc.Replicas {
		r := &js.doc.Replicas[i]
		_, _, changed, _ := recapped(r.PowerCapW, r.StartPowerCapW, rc.PowerCapW)
		if live(r) && changed && (r.PowerCapW == 0 || rc.PowerCapW < r.PowerCapW) {
			out = append(out, api.PowerWait{Job: rc.Job, Replica: r.Index, Node: r.Node, PowerCapW: rc.PowerCapW})
		}
	}
	return out
}

// holdForLowerings holds the replicas of start st, just applied to js,
// that must wait for lowerings lows, and records why on the job. Caller
// holds mu.
func (s *Server) holdForLowerings(js *jobState, st model.Start, lows []api.PowerWait, c *changes) {
	if len(lows) == 0 {
		return
	}
	nodes := map[string]bool{}
	for _, p := range st.Replicas {
		nodes[p.Node] = true
	}
	var waits []api.PowerWait
	for _, lw := range lows {
		for n := range nodes {
			if s.sharePower(n, lw.Node) {
				waits = append(waits, lw)
				break
			}
		}
	}
	if len(waits) == 0 {
		return
	}
	first := len(js.doc.Replicas) - len(st.Replicas) // startJob appended them
	for i := first; i < len(js.doc.Replicas); i++ {
		js.doc.Replicas[i].Held = true
	}
	js.doc.PowerWaits = append(js.doc.PowerWaits, waits...)
	s.waiting[js.doc.ID] = js
	c.job(js, api.EventPowerHold, s.ownView(js.doc.Tenant, "replicas held until lent power is taken back: "+waitList(waits)))
}

// waitList names lowerings for an event: "job b on n2 to 300 W, …".
func waitList(ws []api.PowerWait) string {
	parts := make([]string, 0, len(ws))
	for _, w := range ws {
		p := fmt.Sprintf("job %s on %s to %d W", w.Job, w.Node, w.PowerCapW)
		if !slices.Contains(parts, p) { // a job's replicas on one node
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ", ")
}

// sharePower reports whether nodes a and b draw from a common site,
// hall or rack (an unknown node shares with every node).
func (s *Server) sharePower(a, b string) bool {
	na, nb := s.nodes[a], s.nodes[b]
	if na == nil || nb == nil {
		return true
	}
	x, y := na.node, nb.node
	return x.Site == y.Site || x.Hall != "" && x.Hall == y.Hall || x.Rack != "" && x.Rack == y.Rack
}

// settleWaits ends the waits that are done and hands out the replicas
// of starts that wait for nothing more, waking their agents. Every
// commit calls it, since any change may end a wait. Caller holds mu.
func (s *Server) settleWaits(c *changes) {
	if len(s.waiting) == 0 {
		return
	}
	for _, id := range slices.Sorted(maps.Keys(s.waiting)) { // events in one order
		js := s.waiting[id]
		if js.alloc == nil || s.jobs[id] != js {
			delete(s.waiting, id)
			continue
		}
		n := len(js.doc.PowerWaits)
		js.doc.PowerWaits = slices.DeleteFunc(js.doc.PowerWaits, s.lowered)
		if len(js.doc.PowerWaits) > 0 && js.stop == stopNone {
			if len(js.doc.PowerWaits) < n {
				c.job(js, "", "") // the document shows what is left
			}
			continue
		}
		// stopping: the agents get the held replicas marked Stop and
		// report them ended without starting them
		for i := range js.doc.Replicas {
			if r := &js.doc.Replicas[i]; r.Held {
				c.bump(r.Node)
			}
		}
		if js.stop == stopNone {
			s.startsNow(js)
			c.job(js, api.EventPowerHold, "lent power taken back: replicas handed to their nodes")
		} else {
			c.job(js, "", "")
		}
		js.unhold()
		delete(s.waiting, id)
	}
}

// startsNow moves the start of js's attempt to now when every replica of
// it was held: its runtime limit counts from when its replicas reach
// their nodes, not from a hold that may have lasted (a GPU that refused
// a lower limit holds a start until the lowered job ends), and the core
// expects its end from then. Its GPU time counts from the assignment
// (api.Replica.AssignedAt). A deployment's held scale-up keeps its
// attempt's start. Caller holds mu.
func (s *Server) startsNow(js *jobState) {
	for i := range js.doc.Replicas {
		if !js.doc.Replicas[i].Held {
			return
		}
	}
	now := s.cfg.Now()
	js.doc.StartTime = ptrTime(now.UTC())
	js.alloc.Started = model.TimeOf(now)
}

// lowered reports whether lowering w is done (see the top of the file).
func (s *Server) lowered(w api.PowerWait) bool {
	if n := s.nodes[w.Node]; n != nil && n.doc.Unreachable {
		// its replicas were lost when it went silent, but it may run
		// them on, at the higher limit, until its agent is heard from
		return false
	}
	js := s.running[w.Job]
	if js == nil || js.alloc == nil {
		return true
	}
	for i := range js.doc.Replicas {
		r := &js.doc.Replicas[i]
		if r.Index != w.Replica {
			continue
		}
		if !live(r) || r.PowerCapW == 0 {
			return true // lifted: the pass that did counted it at its GPUs' own limit
		}
		// Raised again, the pass that did counted the held start as
		// running and the replica at its new cap: a limit above that
		// (the agent not yet at the lower one) is still too much.
		return r.PowerLimitW == nil || !above(*r.PowerLimitW, max(w.PowerCapW, r.PowerCapW))
	}
	return true
}

// heldBack reports whether replica r of js is held from its agent.
func (js *jobState) heldBack(r *api.Replica) bool {
	return r.Held && js.stop == stopNone
}

// unhold ends js's hold, if any, in its document.
func (js *jobState) unhold() {
	for i := range js.doc.Replicas {
		js.doc.Replicas[i].Held = false
	}
	js.doc.PowerWaits = nil
}
