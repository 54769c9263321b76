package agent

import (
	"fmt"
	"slices"

	"github.com/carnot-dc/carnot/internal/api"
)

// The power limits of the GPUs the agent's tasks run on: a task's cap is
// set before it starts, changed by a recap, and ended with the task; a
// GPU that several running tasks hold gets the limit limitLocked says.
// What is to restore after a crash is recorded in caps.json (caps.go).

// capLocked sets the task's power cap on its GPUs and reports whether
// every GPU took it. Failures go to the task's Error: a task starting
// is then not started (refusedCapError), one running runs on. A GPU
// another task holds gets the limit limitLocked says, which is the
// task's cap unless a live task prevails over it.
func (a *Agent) capLocked(t *task) bool {
	w := t.spec.PowerCapW
	if w <= 0 || len(t.spec.GPUs) == 0 {
		return true
	}
	if a.cfg.Devices == nil {
		t.errs = append(t.errs, fmt.Sprintf("power cap %d W: the node has no GPUs", w))
		return false
	}
	t.capped = true
	a.recordCapsLocked() // before the cap: a crash in between leaves nothing to undo
	ok := true
	for _, g := range t.spec.GPUs {
		lim, _ := a.limitLocked(g, t)
		err := a.setLimitLocked(g, lim)
		switch {
		case err == nil:
		case lim == w:
			ok = false
			t.errs = append(t.errs, fmt.Sprintf("power cap: %v", err))
			a.log.Warn("cannot cap GPU power", "task", t.name(), "gpu", g, "watts", w, "err", err)
		default:
			a.log.Warn("cannot set the GPU power limit another task calls for", "task", t.name(), "gpu", g, "watts", lim, "err", err)
		}
	}
	return ok
}

// setLimitLocked sets GPU g's power limit to w watts, counting it
// (limitsSet). Caller holds mu, or has the agent to itself.
func (a *Agent) setLimitLocked(g, w int) error {
	a.limitsSet++
	return a.cfg.Devices.SetPowerLimit(g, w)
}

// readLimits reads the GPUs' power limits in force (0: not read) without
// holding mu (NVML may be slow), and the count of limits the agent had
// set before (limitsSet): checkLimitsLocked trusts them only while that
// count has not changed.
func (a *Agent) readLimits() (limits []int, set int) {
	if a.cfg.Devices == nil {
		return nil, 0
	}
	a.mu.Lock()
	set = a.limitsSet
	a.mu.Unlock()
	return a.cfg.Devices.PowerLimits(), set
}

// checkLimitsLocked compares limits, the GPUs' power limits read in
// force when the agent had set set limits, with those its running
// capped tasks call for (limitLocked). A GPU found above (a GPU reset,
// or another tool, put back its own limit) draws more than the
// scheduler counts: the task's error says so, and it reports the limit
// found (capSet), which the server counts it at, until
// retryCapsLocked, which follows at every heartbeat, sets its cap
// again. Limits read while the agent set one say nothing. Caller holds
// mu.
func (a *Agent) checkLimitsLocked(limits []int, set int) {
	if set != a.limitsSet {
		return
	}
	for _, t := range a.tasks {
		w := t.spec.PowerCapW
		if t.state != api.ReplicaRunning || t.stopping || !t.capped || w <= 0 || t.capSet != w {
			continue
		}
		for _, g := range t.spec.GPUs {
			lim, capped := a.limitLocked(g, nil)
			if !capped || g < 0 || g >= len(limits) || limits[g] <= lim {
				continue
			}
			a.log.Warn("GPU power limit found above its task's cap (a GPU reset?): it draws more than the scheduler counts; setting the cap again",
				"task", t.name(), "gpu", g, "found_watts", limits[g], "cap_watts", lim)
			t.errs = append(t.errs, fmt.Sprintf("power cap: GPU %d found at %d W, above its %d W cap", g, limits[g], lim))
			t.capSet = max(t.capSet, limits[g])
			a.notify()
		}
	}
}

// refusedCapError is why a task whose cap of w watts a GPU refused at
// its start is not started: the scheduler counted it at its cap, and at
// the GPU's higher limit it would draw power the scheduler may have
// given other work (its site's envelope passed for as long as it ran).
func refusedCapError(w int) error {
	return fmt.Errorf("not started: a GPU refused its %d W power cap, and it would draw more than the scheduler counts for it; "+
		"if the GPU's range is narrower than its model's in the facility's catalog, correct one or the other", w)
}

// uncapLocked gives an ended capped task's GPUs the limit the tasks
// still holding them call for (limitLocked): the limit they had when the
// agent started, when none is capped.
func (a *Agent) uncapLocked(t *task) {
	a.restoreLocked(t, false)
}

// recapLocked applies a running task's new power cap w, which the
// server changed while it runs (a recap): raised on power lent to the
// task, or lowered to take that power back, never below the cap the
// task started with. The new limit goes on its GPUs, or, at 0, the limit
// they had when the agent started, unless another capped task holds
// them. As at the start, the cap is recorded (caps.json) before it is
// set and failures go to the task's Error; the task runs on. A lower cap
// a GPU refuses is logged as an error: the GPU keeps the higher limit,
// and may draw power the scheduler gave another job. The limit now in
// force goes to the server at once (a heartbeat): a start that counts on
// the power a lowering frees waits for it (the server's capwait.go).
func (a *Agent) recapLocked(t *task, w int) {
	old := t.spec.PowerCapW
	if w == old || len(t.spec.GPUs) == 0 {
		return
	}
	t.spec.PowerCapW = w
	defer a.notify()
	if w == 0 {
		a.liftLocked(t)
		t.capSet = 0
	} else if !a.capLocked(t) {
		if old == 0 || w < old {
			a.log.Error("GPU power limit stays above its task's lowered cap: its GPUs may draw power the scheduler gave another job",
				"task", t.name(), "gpus", t.spec.GPUs, "from_watts", old, "to_watts", w)
		} else {
			t.capSet = w // some GPUs may have taken the higher limit
		}
		return
	}
	t.capSet = w
	a.log.Info("task's power cap changed", "task", t.name(), "gpus", t.spec.GPUs, "from_watts", old, "to_watts", w)
}

// liftLocked lifts a running task's cap: its GPUs get back the limit
// they had when the agent started, but for those another task's cap
// holds (limitLocked).
func (a *Agent) liftLocked(t *task) {
	a.restoreLocked(t, true)
}

// restoreLocked ends capped task t's cap: each of its GPUs gets the
// limit limitLocked says, the limit it had when the agent started when
// no task's cap holds it; a task that runs on (running) also gets a
// failure to restore that in its error. A GPU that refuses its own
// limit stays recorded in caps.json and is tried again
// (retryUncapsLocked).
func (a *Agent) restoreLocked(t *task, running bool) {
	if !t.capped {
		return
	}
	t.capped = false
	a.settleLocked(t, t.spec.GPUs, running)
	a.recordCapsLocked()
}

// settleLocked gives each of gpus the limit the tasks holding it call
// for (limitLocked); t is the task whose change calls for it, whose
// error, when it runs on (running), says that a GPU refused its own
// limit.
func (a *Agent) settleLocked(t *task, gpus []int, running bool) {
	for _, g := range gpus {
		lim, capped := a.limitLocked(g, nil)
		if lim <= 0 {
			continue // the GPU's own limit is not known
		}
		err := a.setLimitLocked(g, lim)
		switch {
		case capped && err != nil:
			a.log.Warn("cannot set the GPU power limit another task calls for", "task", t.name(), "gpu", g, "watts", lim, "err", err)
		case capped:
		case err != nil:
			if running {
				t.errs = append(t.errs, fmt.Sprintf("power cap lifted: %v", err))
			}
			a.log.Warn("cannot restore GPU power limit; trying again at every heartbeat", "task", t.name(), "gpu", g, "watts", lim, "err", err)
			a.uncapDue[g] = true
		default:
			delete(a.uncapDue, g)
		}
	}
}

// limitLocked is the power limit GPU g calls for, and whether it is a
// task's cap: the lowest cap of the capped tasks running on it, counting
// only the live ones (not stopping) when a live one runs there, so that
// a task still stopping (in its grace, or an orphan being killed) never
// sets the limit under the live task that replaced it; the GPU's own
// limit (when the agent started) when none of those is capped. starting,
// when not nil, is a task about to start, counted as running.
func (a *Agent) limitLocked(g int, starting *task) (w int, capped bool) {
	var live bool
	liveCap, stopCap := 0, 0
	for _, u := range a.tasks {
		if u != starting && u.state != api.ReplicaRunning || !slices.Contains(u.spec.GPUs, g) {
			continue
		}
		c := 0
		if u.capped {
			c = u.spec.PowerCapW
		}
		if !u.stopping {
			live = true
			if c > 0 && (liveCap == 0 || c < liveCap) {
				liveCap = c
			}
		} else if c > 0 && (stopCap == 0 || c < stopCap) {
			stopCap = c
		}
	}
	c := stopCap
	if live {
		c = liveCap
	}
	if c > 0 {
		return c, true
	}
	return a.baseLimits[g], false
}

// settleSharedLocked gives those of t's GPUs that another running task
// holds too the limit limitLocked says, now that t started or stops. t
// runs: it holds its GPUs (gpuUse).
func (a *Agent) settleSharedLocked(t *task) {
	if a.cfg.Devices == nil {
		return
	}
	var shared []int
	for _, g := range t.spec.GPUs {
		if a.gpuUse[g] > 1 { // t holds it: another running task does too
			shared = append(shared, g)
		}
	}
	if len(shared) > 0 {
		a.settleLocked(t, shared, false)
		a.recordCapsLocked()
	}
}

// retryCapsLocked tries again, at every heartbeat, the caps its running
// tasks' GPUs refused (capSet is not the cap asked for: a lowering; a
// task whose start's cap was refused did not start, and one started by
// an older agent may run on at its GPUs' own limit): a GPU refusing a
// limit for a while (its driver busy, the
// GPU resetting) takes it later, and the server holds starts on that
// power until the agent reports the cap set. A retry that fails again
// adds nothing to the task's error, which said so once. Caller holds mu.
func (a *Agent) retryCapsLocked() {
	if a.cfg.Devices == nil {
		return
	}
	for _, t := range a.tasks {
		w := t.spec.PowerCapW
		if t.state != api.ReplicaRunning || t.stopping || !t.capped || w <= 0 || t.capSet == w {
			continue
		}
		ok := true
		for _, g := range t.spec.GPUs {
			lim, _ := a.limitLocked(g, t)
			if lim != w {
				continue // another task's cap holds this GPU
			}
			if err := a.setLimitLocked(g, lim); err != nil {
				ok = false
			}
		}
		if ok {
			a.log.Info("GPU power cap set on a retry", "task", t.name(), "gpus", t.spec.GPUs, "watts", w, "was", t.capSet)
			t.capSet = w
			a.notify()
		}
	}
}
