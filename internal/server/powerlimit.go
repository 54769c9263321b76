package server

import (
	"fmt"
	"slices"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// The power limit in force. The core counts a running replica at its
// cap (model.Placement.PowerCapW), the one the server asked its agent
// to set; a GPU may refuse it (a limit outside its range, an NVML
// error), and then runs at the limit it had; and a lowered cap takes
// effect only once the agent has set it. The agent reports the limit
// in force on a running task's GPUs (api.TaskStatus.PowerCapW). While
// a replica's GPUs may run above its cap (a lowering its agent has not
// reported set, recap.go; a limit its agent reports above the cap),
// the replica's document keeps the limit they may run at
// (api.Replica.PowerLimitW, stored: a restarted server or a new leader
// knows it) and the core counts the replica at it, with no power lent
// to take back (its own cap is what it draws), so that no pass gives
// away power the GPUs may still draw. A limit reported above the cap
// gets an event on the job and a log line.

// above reports whether a GPU at power limit w (0: its own) may draw
// more than cap capW (0: uncapped, the most).
func above(w, capW int) bool {
	return capW > 0 && (w == 0 || w > capW)
}

// wattsText is a power limit for a message: "700 W", or "their own
// limit" for 0.
func wattsText(w int) string {
	if w == 0 {
		return "their own limit"
	}
	return fmt.Sprintf("%d W", w)
}

// limitReported applies the power limit w that the agent of node n
// reports in force on the GPUs of running replica rp of js (-1: an
// agent too old to report one, which keeps the cap the task started
// with); agentErr is the task's error, which says why a GPU refused a
// cap (a running task has no other), every cap refused since it
// started. A limit above the cap with an error the server has not seen
// gets an event and a log line, and the cap set again an event when
// the limit above it was told; a limit above the cap without a new
// error is a change its agent has not applied yet.
//
// A limit read before the agent applied the last change of a cap on its
// node (not fresh: nodeState.fresh), or by an agent too old to say when,
// may predate that change: a heartbeat built before a raise and
// delivered after the lowering that took it back shows the lowered
// limit, while the GPUs run at the raised one. Such a report may raise
// the limit the replica counts at (its GPUs ran at it, and may still),
// never lower it. Caller holds mu.
func (s *Server) limitReported(n string, js *jobState, rp *api.Replica, w int, agentErr string, fresh bool, c *changes) {
	seen := js.limitSeen[rp.Index]
	if w < 0 || !above(w, rp.PowerCapW) {
		if w >= 0 && !fresh {
			return // it may predate a cap it was above
		}
		if rp.PowerLimitW != nil {
			rp.PowerLimitW = nil
			if seen.told {
				c.job(js, api.EventPowerLimit, fmt.Sprintf("replica %d on %s: its GPUs run at its %d W cap: the scheduler counts them at it again", rp.Index, n, rp.PowerCapW))
			} else {
				c.job(js, "", "") // stored: a restarted server counts it at its cap
			}
		}
		js.seeLimit(rp.Index, limitSeen{err: agentErr}) // its error is old news
		return
	}
	switch {
	case !fresh && rp.PowerLimitW != nil && !above(w, *rp.PowerLimitW):
		// counted at that limit or above already
	case rp.PowerLimitW == nil || *rp.PowerLimitW != w:
		rp.PowerLimitW = ptrInt(w) // a new pointer: stored copies share the old one
		c.job(js, "", "")
	}
	switch {
	case seen.err == toldBefore:
		if agentErr != "" {
			js.seeLimit(rp.Index, limitSeen{err: agentErr, told: true}) // told before a restart
		}
		return
	case agentErr == "" || agentErr == seen.err:
		return
	}
	js.seeLimit(rp.Index, limitSeen{err: agentErr, told: true})
	s.log.Warn("GPU power limit above its replica's cap: the scheduler counts the replica at that limit until its agent reports the cap set",
		"job", js.doc.ID, "replica", rp.Index, "node", n, "limit_w", w, "cap_w", rp.PowerCapW, "agent_error", agentErr)
	c.job(js, api.EventPowerLimit, fmt.Sprintf("replica %d on %s: its GPUs run at %s, above its %d W cap (a GPU refused it): the scheduler counts them at that until its agent reports the cap set",
		rp.Index, n, wattsText(w), rp.PowerCapW))
}

// countedReplicas is js's placements as the core counts them: a live replica
// whose GPUs may run above its cap (api.Replica.PowerLimitW) at that
// limit, as its own cap, with nothing lent. The core tells a changed
// allocation by its slice: the same view gives the same slice (kept in
// js.counted). Caller holds mu.
func (js *jobState) countedReplicas() []model.Placement {
	return atLimits(js.alloc.Replicas, js.doc.Replicas, &js.counted)
}

// countedPart is js's part (the replicas a partial preemption takes,
// partial.go) as the core counts it, as countedReplicas. Caller holds
// mu.
func (js *jobState) countedPart() model.Allocation {
	a := *js.part
	a.Replicas = atLimits(js.part.Replicas, js.doc.Replicas, &js.partCounted)
	return a
}

// atLimits is reps with each live replica of docs whose GPUs may run
// above its cap at that limit; the slice kept, when equal, rather than
// a new one, and reps when none does. Caller holds mu.
func atLimits(reps []model.Placement, docs []api.Replica, kept *[]model.Placement) []model.Placement {
	var out []model.Placement
	for i := range docs {
		r := &docs[i]
		if r.PowerLimitW == nil || !live(r) || !above(*r.PowerLimitW, r.PowerCapW) {
			continue
		}
		if out == nil {
			out = slices.Clone(reps)
		}
		for k := range out {
			if p := &out[k]; p.On(r.Node, r.GPUs) {
				p.PowerCapW, p.StartCapW = *r.PowerLimitW, 0
				break
			}
		}
	}
	switch {
	case out == nil:
		*kept = nil
		return reps
	case slices.EqualFunc(out, *kept, samePlacement):
		return *kept
	}
	*kept = out
	return out
}

func samePlacement(x, y model.Placement) bool {
	return x.Node == y.Node && x.PowerCapW == y.PowerCapW && x.StartCapW == y.StartCapW && slices.Equal(x.GPUs, y.GPUs)
}

// limitSeen is what the server has seen of a replica's power limit
// (jobState.limitSeen): its agent's error for it, every cap its GPUs
// refused, and whether a limit above its cap was told (an event).
type limitSeen struct {
	err  string
	told bool
}

// toldBefore, as limitSeen.err, is a limit above its cap that a
// replica's document had when the server started: told by the server
// before, with an error it did not keep.
const toldBefore = "\x00"

// seeLimit records what the server has seen of replica i's limit.
func (js *jobState) seeLimit(i int, ls limitSeen) {
	if js.limitSeen[i] == ls {
		return
	}
	if js.limitSeen == nil {
		js.limitSeen = map[int]limitSeen{}
	}
	js.limitSeen[i] = ls
}

// capRangeNote is what registration reg's GPUs say of the power caps
// the core may plan for them: "" when they take every cap of their
// model's range in the catalog (m), or report none; else a note that
// they take a narrower range, whose caps outside it they will refuse.
// The core plans with the catalog's range; a task whose cap is refused
// at its start fails to start (an older agent runs it at the GPU's own
// limit, which the server counts once its agent reports it, but the
// task draws it from its start).
func capRangeNote(m model.GPUModel, gpus []api.GPUInfo) string {
	lo, hi := 0, 0
	for _, g := range gpus {
		if g.MinCapW > 0 {
			lo = max(lo, g.MinCapW)
		}
		if g.MaxCapW > 0 && (hi == 0 || g.MaxCapW < hi) {
			hi = g.MaxCapW
		}
	}
	if !m.CanCap() || (lo <= m.MinCapWatts && (hi == 0 || hi >= m.MaxCapWatts)) {
		return ""
	}
	top := m.MaxCapWatts
	if hi > 0 {
		top = min(hi, top)
	}
	return fmt.Sprintf("its GPUs take power caps of %d–%d W, narrower than the catalog's %d–%d W for %s: a cap the scheduler plans outside it is refused, and a task started at it fails to start",
		max(lo, m.MinCapWatts), top, m.MinCapWatts, m.MaxCapWatts, m.Name)
}
