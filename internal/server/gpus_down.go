package server

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// GPUs down. A node's agent lists the GPUs it cannot use (lost: fallen
// off the bus, in need of a reset) in its registration and in every
// heartbeat (api.Heartbeat.GPUsDown); the node keeps the last list
// (api.Node.GPUsDown) and runs on its other GPUs. The core is told the
// GPU is down (model.GPUState.Down): nobody may take it, and the reasons
// of the jobs that wait count it as down, not as dirty awaiting a scrub.
// What runs on a GPU when it goes down is left to its agent's report of
// the task; the GPU is not placed on again until the agent lists it up.

// cleanGPUsDown escapes and clips the reasons of an agent's list of
// GPUs down (free text, as a task's error) and checks its indices
// against the node's gpus GPUs; field names the list in errors.
func cleanGPUsDown(down []api.GPUDown, gpus int, field string) []api.FieldError {
	var errs []api.FieldError
	seen := map[int]bool{}
	for i := range down {
		d := &down[i]
		d.Reason = clip(escapeNUL(d.Reason))
		f := fmt.Sprintf("%s[%d].index", field, i)
		switch {
		case d.Index < 0 || d.Index >= gpus:
			errs = append(errs, api.FieldError{Field: f, Message: fmt.Sprintf("the node has GPUs 0 to %d (got %d)", gpus-1, d.Index)})
		case seen[d.Index]:
			errs = append(errs, api.FieldError{Field: f, Message: fmt.Sprintf("GPU %d is listed twice", d.Index)})
		}
		seen[d.Index] = true
	}
	return errs
}

// downSet is the indices of down.
func downSet(down []api.GPUDown) map[int]bool {
	set := make(map[int]bool, len(down))
	for _, d := range down {
		set[d.Index] = true
	}
	return set
}

// downIndices is the indices of down, sorted, as "1, 3".
func downIndices(down []api.GPUDown) string {
	ids := make([]string, 0, len(down))
	for _, g := range slices.Sorted(func(yield func(int) bool) {
		for _, d := range down {
			if !yield(d.Index) {
				return
			}
		}
	}) {
		ids = append(ids, strconv.Itoa(g))
	}
	return strings.Join(ids, ", ")
}

// gpusDownReported applies the list of GPUs down node n's agent
// reports (checked), with an event when the set changes. Caller holds
// mu.
func (s *Server) gpusDownReported(n *nodeState, down []api.GPUDown, c *changes) {
	had := downSet(n.doc.GPUsDown)
	n.doc.GPUsDown = down
	now := downSet(down)
	var wentDown, cameBack []api.GPUDown
	for _, d := range down {
		if !had[d.Index] {
			wentDown = append(wentDown, d)
		}
	}
	for g := range had {
		if !now[g] {
			cameBack = append(cameBack, api.GPUDown{Index: g})
		}
	}
	if len(wentDown) == 0 && len(cameBack) == 0 {
		c.node(n, "", "") // stored with its new reasons, told once
		return
	}
	var parts []string
	if len(wentDown) > 0 {
		why := make([]string, len(wentDown))
		for i, d := range wentDown {
			why[i] = fmt.Sprintf("GPU %d: %s", d.Index, d.Reason)
		}
		parts = append(parts, fmt.Sprintf("node %s's agent reports GPU(s) %s down: nothing is placed on them until it reports them up (%s)",
			n.doc.Name, downIndices(wentDown), strings.Join(why, "; ")))
		s.log.Warn("a node's agent reports GPUs down: nothing is placed on them", "node", n.doc.Name, "gpus", downIndices(wentDown))
	}
	if len(cameBack) > 0 {
		parts = append(parts, fmt.Sprintf("node %s's agent reports GPU(s) %s up again: they take work again", n.doc.Name, downIndices(cameBack)))
	}
	c.node(n, api.EventNode, strings.Join(parts, "; "))
	c.kick = true
}

// gpuStates is n's GPU states for the core: its own, with each GPU down
// marked so (its dirt and a claim on it are kept, and hold once it is
// up).
func (n *nodeState) gpuStates() []model.GPUState {
	gpus := slices.Clone(n.gpus)
	for _, d := range n.doc.GPUsDown {
		if d.Index >= 0 && d.Index < len(gpus) {
			gpus[d.Index].Down = true
		}
	}
	return gpus
}

// idleDown counts n's GPUs down that no replica holds. Caller holds mu.
func (s *Server) idleDown(n *nodeState) int {
	if len(n.doc.GPUsDown) == 0 {
		return 0
	}
	idle := downSet(n.doc.GPUsDown)
	for id := range n.jobs {
		if js := s.jobs[id]; js != nil {
			for p := range js.holding() { // a replica leaving included
				if p.Node == n.doc.Name {
					for _, g := range p.GPUs {
						delete(idle, g)
					}
				}
			}
		}
	}
	return len(idle)
}
