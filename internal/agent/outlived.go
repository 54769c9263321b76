package agent

import (
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
)

// outlivedFile, in the data directory, records the processes of ended
// tasks that outlived SIGKILL (health.go; a crashed agent's tasks' that
// outlived the next agent's, leftheld.go), with their start times and
// their tasks' GPUs, for as long as one is there: the next agent on the
// data directory (a restart, an upgrade) keeps those GPUs down while the
// processes are there, as this one does. Without it the next agent took
// the GPUs for free, and the server placed work on GPUs whose memory a
// process stuck in the driver may still hold.
const outlivedFile = "outlived.json"

// outlivedRecord is an outlived as outlivedFile holds it.
type outlivedRecord struct {
	Task  string         `json:"task"`
	GPUs  []int          `json:"gpus"`
	Procs map[int]uint64 `json:"procs"` // PID: start time (clock ticks since boot)
}

// recordOutlivedLocked writes a.outlived to outlivedFile; no file when
// there are none. A write that fails is tried again at the next
// heartbeat; once one succeeds, what the ended tasks' runtime kept
// recorded of them for the next agent is forgotten
// (forgetOutlivedLocked). Caller holds mu.
func (a *Agent) recordOutlivedLocked() {
	if a.cfg.DataDir == "" {
		a.forgetOutlivedLocked()
		return
	}
	path := filepath.Join(a.cfg.DataDir, outlivedFile)
	var err error
	if len(a.outlived) == 0 {
		if err = os.Remove(path); errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
	} else {
		recs := make([]outlivedRecord, 0, len(a.outlived))
		for _, o := range a.outlived {
			recs = append(recs, outlivedRecord{Task: o.task, GPUs: o.gpus, Procs: o.procs})
		}
		b, _ := json.Marshal(recs)
		err = replaceFile(path, b, true)
	}
	if err != nil && !a.outlivedUnrecorded {
		a.log.Warn("cannot record the processes that outlived SIGKILL; trying again at the next heartbeat (a restart of the agent meanwhile would take their GPUs for free)",
			"file", path, "err", err)
	}
	a.outlivedUnrecorded = err != nil
	a.forgetOutlivedLocked()
}

// loadOutlived takes over the processes that outlived SIGKILL a
// previous agent recorded and that are still there (the same PID, the
// same start time, not ended: zombies.go), and those of a crashed
// agent's tasks that outlived this one's (left, killLeftovers): their
// GPUs stay down while they are. It reports whether they are recorded
// for the next agent (no write failed): only then may the crashed
// agent's groups be forgotten. A task found both ways (an agent killed
// between the two records) is one.
func (a *Agent) loadOutlived(left []outlived) bool {
	if a.cfg.DataDir == "" {
		return true
	}
	var recs []outlivedRecord
	path, found, err := readRecord(a.cfg.DataDir, outlivedFile, &recs)
	if !found && len(left) == 0 {
		return true
	}
	if err != nil {
		a.log.Warn("cannot read the processes that outlived SIGKILL a previous agent recorded: their GPUs are taken for free", "file", path, "err", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range recs {
		o := outlived{task: r.Task, gpus: slices.Clone(r.GPUs), procs: map[int]uint64{}}
		for pid, start := range r.Procs {
			if stillThere(pid, start) {
				o.procs[pid] = start
			}
		}
		if len(o.procs) == 0 {
			continue
		}
		a.log.Warn("processes of an ended task that outlived SIGKILL under a previous agent are still there: its GPUs stay down while they are",
			"task", o.task, "gpus", o.gpus, "processes", len(o.procs))
		a.outlived = append(a.outlived, o)
	}
	for _, o := range left {
		if i := slices.IndexFunc(a.outlived, func(x outlived) bool { return x.task == o.task }); i >= 0 {
			maps.Copy(a.outlived[i].procs, o.procs)
			continue
		}
		a.outlived = append(a.outlived, o)
	}
	a.recordOutlivedLocked()
	return !a.outlivedUnrecorded
}
