package agent

import (
	"cmp"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// startedFile, in the data directory, lists the tasks the agent started
// (or was about to start) that the server may still list as live: a
// task is written there, durably, before its process starts, and leaves
// once a heartbeat carried its end and the assignments no longer list
// it. An agent started after the previous one died (SIGKILL, a crash, a
// power loss) reports each task listed there lost and never starts it:
// it killed what was left of it (leftovers.go), cannot know how it ended,
// and running it anew would restart one replica of a gang in the middle
// of an attempt, unknown to its peers. The server then ends the attempt
// whole, as for a replica lost with its node. A task the file does not
// list was never started on the node: it starts normally.
const startedFile = "started.json"

// lostByCrash is the Error of a task a previous agent started.
const lostByCrash = "the node's agent died while it ran or before it reported its end; " +
	"the next agent killed what was left of it and does not run it again"

// recordStartedLocked writes the tasks the agent recorded as started
// (task.recorded) to startedFile, durably (synced to disk); no file when
// there are none. Caller holds mu.
func (a *Agent) recordStartedLocked() error { return a.writeStartedLocked(false) }

// writeStartedLocked is recordStartedLocked; with probe, it writes the
// file even when it lists none (then removes it), to check that it can.
// Caller holds mu.
func (a *Agent) writeStartedLocked(probe bool) error {
	if a.cfg.DataDir == "" {
		return nil
	}
	var keys []taskKey
	for k, t := range a.tasks {
		if t.recorded {
			keys = append(keys, k)
		}
	}
	path := filepath.Join(a.cfg.DataDir, startedFile)
	if len(keys) == 0 && probe {
		if err := replaceFile(path, []byte("[]"), true); err != nil {
			return err
		}
	}
	if len(keys) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	slices.SortFunc(keys, func(x, y taskKey) int {
		return cmp.Or(cmp.Compare(x.Job, y.Job), cmp.Compare(x.Attempt, y.Attempt), cmp.Compare(x.Replica, y.Replica))
	})
	b, _ := json.Marshal(keys)
	return replaceFile(path, b, true)
}

// forgetLocked drops ended tasks the agent need not report any more and
// rewrites startedFile if it listed them. Caller holds mu.
func (a *Agent) forgetLocked(keys ...taskKey) {
	rewrite := false
	for _, k := range keys {
		if t, ok := a.tasks[k]; ok {
			rewrite = rewrite || t.recorded
			delete(a.tasks, k)
		}
	}
	if !rewrite {
		return
	}
	if err := a.recordStartedLocked(); err != nil {
		a.log.Warn("cannot record the tasks the agent started", "file", startedFile, "err", err)
	}
}

// loadStarted takes over the tasks a previous agent recorded as started,
// as lost: they are reported so (in the registration already) until the
// assignments no longer list them, and never started. Call it from New,
// once the previous agent's leftovers are killed.
func (a *Agent) loadStarted() {
	if a.cfg.DataDir == "" {
		return
	}
	path := filepath.Join(a.cfg.DataDir, startedFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	var keys []taskKey
	if err == nil {
		err = json.Unmarshal(b, &keys)
	}
	if err != nil {
		a.log.Warn("cannot read the tasks a previous agent started: it may start one of them again",
			"file", path, "err", err)
		return
	}
	now := time.Now().UTC()
	for _, k := range keys {
		t := &task{key: k, spec: api.Task{Job: k.Job, Replica: k.Replica, Attempt: k.Attempt}, state: api.ReplicaLost,
			endedAt: now, errs: []string{lostByCrash}, recorded: true, done: make(chan struct{})}
		close(t.done)
		a.tasks[k], a.started[k] = t, true
		a.changedLocked(t)
		a.log.Warn("a previous agent started the task and died: reporting it lost", "task", t.name())
	}
}

// forgetReported forgets every task whose end a heartbeat carried, as
// the agent exits: the server knows how they ended, and the next agent
// need not report them lost.
func (a *Agent) forgetReported() {
	a.mu.Lock()
	defer a.mu.Unlock()
	var keys []taskKey
	for k, t := range a.tasks {
		if t.reported {
			keys = append(keys, k)
		}
	}
	a.forgetLocked(keys...)
}
