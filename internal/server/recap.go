package server

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// A recap (model.Recap) changes the power cap of a running job's
// replicas: it raises it into power a pass left free, lending the
// replicas that power, or lowers it to take lent power back for the
// pass's starts, never below the cap a replica started with (its own:
// api.Replica.StartPowerCapW once a recap raised it). The server
// applies it like a start: the replicas' caps change in the job's
// document, committed with the plan's other changes and an event, and
// the agents of their nodes are woken to fetch their tasks, whose
// PowerCapW the agent compares with the cap it set (internal/agent).
// Those agents are woken by the same commit as the agents of the
// pass's starts; a start that counts on the power a lowering frees is
// held until the lowered job's agent reports the lower limit set
// (capwait.go). The
// allocation the core sees gets the new caps in a new slice: the core
// keeps the slices it was handed and tells a change by identity.

// recapped is what recap cap w makes of a replica's cap capW and start
// cap startW (0: never raised): the new cap and start cap, whether the
// cap changes, and whether w is below the replica's own cap (its start
// cap, or its cap when never raised; an uncapped one's is its GPUs' own
// limit), which no recap may lower it to. A raise keeps the cap the
// replica had as its start cap, the first time; a lowering keeps it.
func recapped(capW, startW, w int) (newCap, newStart int, changed, below bool) {
	pl := model.Placement{PowerCapW: capW, StartCapW: startW}
	own := pl.OwnCapW()
	switch {
	case w == capW:
		return capW, startW, false, false
	case w < 0 || own == 0 || (w > 0 && w < own):
		return capW, startW, false, true
	}
	pl = pl.Recapped(w)
	return pl.PowerCapW, pl.StartCapW, true, false
}

// recapRaises reports whether rc raises a live replica of js: a
// higher cap, or lifted (0) from a cap.
func (s *Server) recapRaises(js *jobState, rc model.Recap) bool {
	for i := range js.doc.Replicas {
		r := &js.doc.Replicas[i]
		if live(r) && r.PowerCapW > 0 && (rc.PowerCapW == 0 || rc.PowerCapW > r.PowerCapW) {
			return true
		}
	}
	return false
}

// recapHolds reports whether recap rc still applies at commit: its job
// runs and is not being stopped, the plan preempts it (victims) only if
// rc gives lent power back (the core lowers a victim to its own cap in
// the plan that preempts it, and may start other work on that power),
// and rc changes the cap of one of its live replicas without taking one
// below its own cap. A recap below a replica's own cap is the core's
// mistake (plan.Verify refuses it too): it is logged. Caller holds mu.
func (s *Server) recapHolds(rc model.Recap, victims map[string]bool) bool {
	js := s.running[rc.Job]
	if js == nil || js.alloc == nil || js.stop != stopNone {
		return false
	}
	if victims[rc.Job] && s.recapRaises(js, rc) {
		return false
	}
	changes := false
	for i := range js.doc.Replicas {
		r := &js.doc.Replicas[i]
		if !live(r) {
			continue
		}
		_, _, changed, below := recapped(r.PowerCapW, r.StartPowerCapW, rc.PowerCapW)
		if below {
			s.log.Error("recap dropped: it would take a replica below its own cap", "job", rc.Job, "replica", r.Index, "node", r.Node,
				"cap_w", rc.PowerCapW, "replica_cap_w", r.PowerCapW, "start_cap_w", r.StartPowerCapW)
			return false
		}
		changes = changes || changed
	}
	return changes
}

// recapJob applies recap rc to its job's live replicas and records an
// event; it reports whether it changed a cap. A replica rc would take
// below its own cap keeps its cap (recapHolds dropped such a recap).
// Caller holds mu.
func (s *Server) recapJob(rc model.Recap, c *changes) bool {
	js := s.running[rc.Job]
	if js == nil || js.alloc == nil {
		return false
	}
	var was []int // the caps changed
	for i := range js.doc.Replicas {
		r := &js.doc.Replicas[i]
		w, start, ok, _ := recapped(r.PowerCapW, r.StartPowerCapW, rc.PowerCapW)
		if !ok || !live(r) {
			continue
		}
		was = append(was, r.PowerCapW)
		lim := r.PowerCapW // what its GPUs may run at until its agent reports the new cap set
		if r.PowerLimitW != nil && above(*r.PowerLimitW, lim) {
			lim = *r.PowerLimitW
		}
		r.PowerCapW, r.StartPowerCapW = w, start
		if n := s.nodes[r.Node]; n != nil {
			n.capsVersion, n.capsChanged = n.version, true // the commit's bump shows the new cap
		}
		r.PowerLimitW = nil // raised to the limit in force, or lifted
		if above(lim, w) {
			r.PowerLimitW = ptrInt(lim) // lowered: counted at lim until reported set
		}
		c.bump(r.Node)
	}
	if len(was) == 0 {
		return false
	}
	reps := slices.Clone(js.alloc.Replicas)
	for i := range reps {
		p := &reps[i]
		if w, start, ok, _ := recapped(p.PowerCapW, p.StartCapW, rc.PowerCapW); ok {
			p.PowerCapW, p.StartCapW = w, start
		}
	}
	js.alloc.Replicas = reps
	c.job(js, api.EventRecap, recapMessage(rc.PowerCapW, was))
	return true
}

// recapMessage is the event of a recap to cap w (0: uncapped) of
// replicas whose caps were was: raised, lifted, lowered, or, replicas
// on both sides of w, set.
func recapMessage(w int, was []int) string {
	watts := func(w int) int { // uncapped is the most
		if w == 0 {
			return math.MaxInt
		}
		return w
	}
	text := func(w int) string {
		if w == 0 {
			return "uncapped"
		}
		return fmt.Sprintf("%d W", w)
	}
	lo := slices.MinFunc(was, func(x, y int) int { return cmp.Compare(watts(x), watts(y)) })
	hi := slices.MaxFunc(was, func(x, y int) int { return cmp.Compare(watts(x), watts(y)) })
	from := text(lo)
	if hi != lo {
		from += "–" + text(hi)
	}
	switch {
	case w == 0:
		return fmt.Sprintf("power cap lifted (was %s): its GPUs run at their own limit", from)
	case watts(hi) < w:
		return fmt.Sprintf("power cap raised to %d W (was %s)", w, from)
	case watts(lo) > w:
		return fmt.Sprintf("power cap lowered to %d W (was %s): lent power taken back", w, from)
	}
	return fmt.Sprintf("power cap set to %d W (was %s): lent power raised on some replicas, taken back on others", w, from)
}

// mayRecap reports whether a pass with an empty queue may change a
// running job's cap: the policy recaps, a job ended since the last pass
// or the server started (its facility may have less power than the
// loans made), and a running job that is not being stopped has a capped
// replica or one on lent power. The loop runs the core for
// it even with an empty queue, so that power a job's end freed reaches
// the jobs capped before. Caller holds mu.
func (s *Server) mayRecap() bool {
	if !s.freed || !s.fac.Policy.Lends() {
		return false
	}
	for _, js := range s.running {
		if js.alloc != nil && js.stop == stopNone && (model.AnyCapped(js.alloc.Replicas) || lentAny(js.alloc.Replicas)) {
			return true
		}
	}
	return false
}

// lentAny reports whether a replica of rs runs on lent power: one a
// recap raised, its cap lifted among them (a pass may have to take that
// power back though nothing waits: an envelope lowered across a restart).
func lentAny(rs []model.Placement) bool {
	return slices.ContainsFunc(rs, func(p model.Placement) bool { return p.StartCapW > 0 && p.PowerCapW != p.StartCapW })
}
