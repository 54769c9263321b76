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

// recordCapsLocked writes, for every GPU a task has capped, the limit
// to restore; no file when none is capped.
func (a *Agent) recordCapsLocked() {
	if a.cfg.DataDir == "" {
		return
	}
	capped := map[int]int{}
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
	if len(capped) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			a.log.Warn("cannot record the GPUs' power limits", "err", err)
		}
		return
	}
	b, _ := json.Marshal(capped)
	if err := replaceFile(path, b, false); err != nil {
		a.log.Warn("cannot record the GPUs' power limits", "err", err)
	}
}

// undoCaps puts back the limits a previous agent recorded for the GPUs
// it had capped, takes them as the GPUs' own limits, and forgets them.
func (a *Agent) undoCaps() {
	if a.cfg.DataDir == "" || a.cfg.Devices == nil {
		return
	}
	path := filepath.Join(a.cfg.DataDir, capsFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	var caps map[int]int
	if err == nil {
		err = json.Unmarshal(b, &caps)
	}
	if err != nil {
		a.log.Warn("cannot read the GPUs' power limits a previous agent recorded", "file", path, "err", err)
	}
	for g, w := range caps {
		if _, ok := a.baseLimits[g]; !ok || w <= 0 {
			continue
		}
		a.log.Warn("a previous agent left the GPU capped: restoring its limit", "gpu", g, "watts", w)
		if err := a.cfg.Devices.SetPowerLimit(g, w); err != nil {
			a.log.Warn("cannot restore GPU power limit", "gpu", g, "watts", w, "err", err)
		}
		a.baseLimits[g] = w
	}
	_ = os.Remove(path)
}
