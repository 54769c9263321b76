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

// endedFile, in the data directory, holds the ends of the tasks
// startedFile lists whose end no heartbeat carried when the agent shut
// down (the server out of reach): the next agent reports them as they
// ended (a task that finished by itself as finished) rather than lost,
// and removes the file once read. An agent that dies writes none: the
// next one reports its tasks lost.
const endedFile = "ended.json"

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
	var keys []taskKey
	path, found, err := readRecord(a.cfg.DataDir, startedFile, &keys)
	if !found {
		return
	}
	if err != nil {
		a.log.Warn("cannot read the tasks a previous agent started: it may start one of them again",
			"file", path, "err", err)
		return
	}
	ends := a.loadEnded()
	now := time.Now().UTC()
	for _, k := range keys {
		t := &task{key: k, spec: api.Task{Job: k.Job, Replica: k.Replica, Attempt: k.Attempt}, state: api.ReplicaLost,
			endedAt: now, errs: []string{lostByCrash}, recorded: true, done: make(chan struct{})}
		if st, ok := ends[k]; ok {
			t.state, t.pid, t.exitCode, t.signal, t.errs = st.State, st.PID, st.ExitCode, st.Signal, nil
			if st.Error != "" {
				t.errs = []string{st.Error}
			}
			if st.StartedAt != nil {
				t.startedAt = *st.StartedAt
			}
			if st.EndedAt != nil {
				t.endedAt = *st.EndedAt
			}
			code := -1
			if t.exitCode != nil {
				code = *t.exitCode
			}
			a.log.Info("a previous agent shut down before it could report the task's end: reporting it as it ended",
				"task", t.name(), "state", t.state, "exit_code", code)
		} else {
			a.log.Warn("a previous agent started the task and died: reporting it lost", "task", t.name())
		}
		close(t.done)
		a.tasks[k], a.started[k] = t, true
		a.changedLocked(t)
	}
}

// loadEnded reads (and removes) endedFile: the ends a previous agent
// that shut down could not report, by task. Only ends are taken: a
// status of a task still running, or unreadable, is left out (the task
// is then reported lost).
func (a *Agent) loadEnded() map[taskKey]api.TaskStatus {
	var sts []api.TaskStatus
	path, found, err := readRecord(a.cfg.DataDir, endedFile, &sts)
	if !found {
		return nil
	}
	if err != nil {
		a.log.Warn("cannot read the task ends a previous agent could not report: reporting those tasks lost", "file", path, "err", err)
	}
	// Read once: what this agent does not report in turn, it records
	// again as it shuts down (recordEnded).
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		a.log.Warn("cannot remove the task ends a previous agent could not report", "file", path, "err", err)
	}
	ends := map[taskKey]api.TaskStatus{}
	for _, st := range sts {
		switch st.State {
		case api.ReplicaExited, api.ReplicaFailed, api.ReplicaLost:
			ends[taskKey{Job: st.Job, Replica: st.Replica, Attempt: st.Attempt}] = st
		}
	}
	return ends
}

// recordEnded writes endedFile as the agent exits, its tasks over: the
// ends of those it recorded as started that no heartbeat carried (the
// server out of reach), durably; no file when there are none.
func (a *Agent) recordEnded() {
	if a.cfg.DataDir == "" {
		return
	}
	a.mu.Lock()
	var ends []api.TaskStatus
	for _, t := range a.tasks {
		if t.recorded && !t.reported && t.state != api.ReplicaRunning {
			ends = append(ends, t.status())
		}
	}
	a.mu.Unlock()
	path := filepath.Join(a.cfg.DataDir, endedFile)
	if len(ends) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			a.log.Warn("cannot remove the task ends recorded for the next agent", "file", path, "err", err)
		}
		return
	}
	slices.SortFunc(ends, func(x, y api.TaskStatus) int {
		return cmp.Or(cmp.Compare(x.Job, y.Job), cmp.Compare(x.Attempt, y.Attempt), cmp.Compare(x.Replica, y.Replica))
	})
	b, err := json.Marshal(ends)
	if err == nil {
		err = replaceFile(path, b, true)
	}
	if err != nil {
		a.log.Warn("cannot record the task ends no heartbeat reported: the next agent reports those tasks lost", "file", path, "err", err)
		return
	}
	a.log.Info("the server has not heard how these tasks ended: the next agent on this data directory reports it", "tasks", len(ends), "file", path)
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
