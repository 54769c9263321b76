package agent

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// capsFile, in the data directory, records the power limit that each GPU
// the agent capped had before, while the cap is set, so that an agent
// started after a crash of the previous one puts the limit back: the
// next agent would otherwise take the cap for the GPU's own limit, and
// every later task would run under it.
const capsFile = "caps.json"

// recordCapsLocked writes, for every GPU a task has capped or that
// refused its own limit back (uncapDue), the limit to restore; no file
// when none is capped. A write that fails (a full disk) is tried again
// at every heartbeat (capsUnrecorded) until one succeeds.
func (a *Agent) recordCapsLocked() {
	if a.cfg.DataDir == "" {
		return
	}
	capped := map[int]int{}
	for g := range a.uncapDue {
		if base := a.baseLimits[g]; base > 0 {
			capped[g] = base
		}
	}
	for _, t := range a.tasks {
		if !t.capped {
			continue
		}
		for _, g := range t.spec.GPUs {
			if base, ok := a.baseLimits[g]; ok && base > 0 {
				capped[g] = base
			}
		}
	}
	path := filepath.Join(a.cfg.DataDir, capsFile)
	var err error
	if len(capped) == 0 {
		if err = os.Remove(path); errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
	} else {
		b, _ := json.Marshal(capped)
		err = replaceFile(path, b, false)
	}
	switch {
	case err != nil && !a.capsUnrecorded:
		a.log.Warn("cannot record the GPUs' power limits; trying again at every heartbeat (a crash of the agent meanwhile would leave a cap taken for a GPU's own limit)",
			"file", path, "err", err)
	case err != nil:
		a.log.Debug("cannot record the GPUs' power limits yet", "file", path, "err", err)
	case a.capsUnrecorded:
		a.log.Info("the GPUs' power limits are recorded again", "file", path)
	}
	a.capsUnrecorded = err != nil
}

// undoCaps puts back the limits a previous agent recorded for the GPUs
// it had capped, takes them as the GPUs' own limits, and forgets them.
func (a *Agent) undoCaps() {
	if a.cfg.DataDir == "" || a.cfg.Devices == nil {
		return
	}
	var caps map[int]int
	path, found, err := readRecord(a.cfg.DataDir, capsFile, &caps)
	if !found {
		return
	}
	if err != nil {
		a.log.Warn("cannot read the GPUs' power limits a previous agent recorded", "file", path, "err", err)
	}
	for g, w := range caps {
		if _, ok := a.baseLimits[g]; !ok || w <= 0 {
			continue
		}
		a.log.Warn("a previous agent left the GPU capped: restoring its limit", "gpu", g, "watts", w)
		if err := a.setLimitLocked(g, w); err != nil {
			a.log.Warn("cannot restore GPU power limit; trying again at every heartbeat", "gpu", g, "watts", w, "err", err)
			a.uncapDue[g] = true
		}
		a.baseLimits[g] = w
	}
	a.recordCapsLocked() // what is still to restore, or no file
}

// retryUncapsLocked records the caps again if the last record failed,
// and tries again to give the GPUs that refused their own
// limit back (uncapDue) that limit, but for those a running task's cap
// holds since (limitLocked), and records what is left to restore.
func (a *Agent) retryUncapsLocked() {
	if a.capsUnrecorded {
		a.recordCapsLocked()
	}
	if len(a.uncapDue) == 0 {
		return
	}
	n := len(a.uncapDue)
	for g := range a.uncapDue {
		if _, capped := a.limitLocked(g, nil); capped {
			continue // its task's uncap restores it
		}
		base := a.baseLimits[g]
		if err := a.setLimitLocked(g, base); err != nil {
			a.log.Debug("cannot restore GPU power limit yet", "gpu", g, "watts", base, "err", err)
			continue
		}
		a.log.Info("GPU power limit restored", "gpu", g, "watts", base)
		delete(a.uncapDue, g)
	}
	if len(a.uncapDue) != n {
		a.recordCapsLocked()
	}
}
