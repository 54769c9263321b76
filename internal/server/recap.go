package server

import (
	"fmt"
	"slices"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// A recap (model.Recap) raises the power cap of a running job's
// replicas into power a pass left free. The server applies it like a
// start: the replicas' caps change in the job's document, committed
// with the plan's other changes and an event, and the agents of their
// nodes are woken to fetch their tasks, whose PowerCapW the agent
// compares with the cap it set (internal/agent). The allocation the
// core sees gets the new caps in a new slice: the core keeps the
// slices it was handed and tells a change by identity.

// raisedCap is what recap cap w makes of a replica's cap old, and
// whether it changes it: a recap raises a cap (to w, or lifts it with
// w = 0) and never lowers one, nor caps an uncapped replica.
func raisedCap(old, w int) (int, bool) {
	switch {
	case old <= 0 || w < 0:
		return old, false
	case w == 0:
		return 0, true
	case w > old:
		return w, true
	}
	return old, false
}

// recapHolds reports whether recap rc still applies at commit: its job
// runs and is not being stopped, the plan does not preempt it (victims),
// and rc raises the cap of one of its live replicas. Caller holds mu.
func (s *Server) recapHolds(rc model.Recap, victims map[string]bool) bool {
	js := s.running[rc.Job]
	if js == nil || js.alloc == nil || js.stop != stopNone || victims[rc.Job] {
		return false
	}
	return slices.ContainsFunc(js.doc.Replicas, func(r api.Replica) bool {
		_, ok := raisedCap(r.PowerCapW, rc.PowerCapW)
		return ok && live(&r)
	})
}

// recapJob applies recap rc to its job's live replicas and records an
// event; it reports whether it changed a cap. Caller holds mu.
func (s *Server) recapJob(rc model.Recap, c *changes) bool {
	js := s.running[rc.Job]
	if js == nil || js.alloc == nil {
		return false
	}
	lo, hi := 0, 0 // the caps raised
	for i := range js.doc.Replicas {
		r := &js.doc.Replicas[i]
		w, ok := raisedCap(r.PowerCapW, rc.PowerCapW)
		if !ok || !live(r) {
			continue
		}
		if lo == 0 || r.PowerCapW < lo {
			lo = r.PowerCapW
		}
		hi = max(hi, r.PowerCapW)
		r.PowerCapW = w
		c.bump(r.Node)
	}
	if hi == 0 {
		return false
	}
	reps := slices.Clone(js.alloc.Replicas)
	for i := range reps {
		reps[i].PowerCapW, _ = raisedCap(reps[i].PowerCapW, rc.PowerCapW)
	}
	js.alloc.Replicas = reps
	was := fmt.Sprintf("%d W", lo)
	if hi != lo {
		was = fmt.Sprintf("%d–%d W", lo, hi)
	}
	msg := fmt.Sprintf("power cap raised to %d W (was %s)", rc.PowerCapW, was)
	if rc.PowerCapW == 0 {
		msg = fmt.Sprintf("power cap lifted (was %s): its GPUs run at their own limit", was)
	}
	c.job(js, api.EventRecap, msg)
	return true
}

// mayRecap reports whether a pass may raise a running job's cap: the
// policy recaps, and a running job that is not being stopped has a
// capped replica. The loop runs the core for it even with an empty
// queue, so that power a job's end freed reaches the jobs capped
// before. Caller holds mu.
func (s *Server) mayRecap() bool {
	if pol := s.fac.Policy; !pol.PowerCapping || !pol.PowerRecap {
		return false
	}
	for _, js := range s.running {
		if js.alloc == nil || js.stop != stopNone {
			continue
		}
		for _, p := range js.alloc.Replicas {
			if p.PowerCapW > 0 {
				return true
			}
		}
	}
	return false
}
