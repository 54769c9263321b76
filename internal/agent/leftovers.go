package agent

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// groupsFile, in the data directory, lists the process groups and marks
// of the tasks the agent runs, so that an agent started after a crash of
// the previous one (SIGKILL, power loss of the agent alone) kills what it
// left behind: the server's view wins, and it no longer assigns them.
const groupsFile = "groups.json"

// group is one task's process group, with its leader's start time (in
// clock ticks since boot, /proc/PID/stat) so that a reused PID is never
// taken for it, and the task's mark (marks.go), which finds its
// processes once the leader is gone or out of the group. It is recorded
// before the process starts, with PGID 0 until it has: an agent killed
// as its task's process starts leaves the mark, which finds the process.
type group struct {
	Task  string `json:"task"`
	PGID  int    `json:"pgid"`
	Start uint64 `json:"start"`
	Mark  string `json:"mark,omitempty"`
}

// track records the task's group: before its process starts (pgid 0,
// the mark alone) and once it has. It writes the groups to the file,
// atomically: a crash leaves the old file or the new one. An error means
// the file could not be written: a process started then could outlive a
// crash of the agent unseen.
func (r *processes) track(task, mark string, pgid int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := group{Task: task, Mark: mark}
	if pgid > 0 {
		if start, err := procStart(pgid); err == nil { // else gone already: the mark finds what is left
			g.PGID, g.Start = pgid, start
		}
	}
	r.groups[mark] = g
	return r.writeGroupsLocked()
}

// untrack forgets the task's group, of which nothing runs any more.
func (r *processes) untrack(mark string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.groups[mark]; !ok {
		return
	}
	delete(r.groups, mark)
	if err := r.writeGroupsLocked(); err != nil {
		r.log.Warn("cannot record the tasks' process groups", "err", err)
	}
}

// writeGroupsLocked writes the groups to the file. Caller holds mu.
func (r *processes) writeGroupsLocked() error {
	gs := slices.SortedFunc(maps.Values(r.groups), func(x, y group) int {
		return cmp.Or(cmp.Compare(x.PGID, y.PGID), cmp.Compare(x.Mark, y.Mark))
	})
	if gs == nil {
		gs = []group{}
	}
	b, _ := json.Marshal(gs)
	return replaceFile(filepath.Join(r.dataDir, groupsFile), b, false)
}

// replaceFile writes b to path through a file beside it and a rename, so
// that a crash leaves the old content or the new, never a part. With
// sync it also syncs the file and its directory: the content survives a
// power loss once it returned.
func replaceFile(path string, b []byte, sync bool) error {
	tmp := path + tmpSuffix
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil || !sync {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// leads reports whether pid leads the group of a running task (a PID
// reused since the agent killed the process it was).
func (r *processes) leads(pid int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, g := range r.groups {
		if g.PGID == pid {
			return true
		}
	}
	return false
}

// killLeftovers kills the process groups a previous agent recorded that
// still run (same leader, same start time, or the leader gone and
// members left) and every process carrying a recorded mark, with its
// group, the leader gone (or never recorded) or not; it waits
// (groupGoneWait at most) until no marked process is left, and forgets
// them.
func (r *processes) killLeftovers() {
	path := filepath.Join(r.dataDir, groupsFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	var gs []group
	if err == nil {
		err = json.Unmarshal(b, &gs)
	}
	if err != nil {
		r.log.Warn("cannot read the process groups of a previous agent", "file", path, "err", err)
	}
	var marks []string
	for _, g := range gs {
		if g.Mark != "" {
			marks = append(marks, g.Mark)
		}
		if g.PGID <= 1 {
			continue
		}
		start, err := procStart(g.PGID)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// The leader is gone. Its PID is not reused while its group
			// has members (the kernel holds it), so what is in the group
			// is left of the task: processes that do not carry its mark
			// (they cleared their environment) included.
		case err != nil || start != g.Start:
			continue // the PID now belongs to another process
		}
		r.log.Warn("killing the processes a previous agent left running", "task", g.Task, "pgid", g.PGID)
		_ = syscall.Kill(-g.PGID, syscall.SIGKILL)
	}
	// A marked process's group goes with it: one recorded by its mark
	// alone (the agent died as it started) has members that do not carry
	// the mark (they cleared their environment).
	own := syscall.Getpgrp()
	for _, pid := range marked(marks...) {
		if pgid, err := procGroup(pid); err == nil && pgid > 1 && pgid != own {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
	}
	n := len(killMarked(marks...))
	if n > 0 {
		r.log.Warn("killing the processes of its tasks a previous agent left running", "processes", n)
	}
	for deadline := time.Now().Add(groupGoneWait); n > 0; n = len(killMarked(marks...)) {
		if time.Now().After(deadline) {
			r.log.Warn("processes a previous agent left outlive SIGKILL", "processes", n)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = os.Remove(path)
}

// procStart is a process's start time in clock ticks since boot, field
// 22 of /proc/PID/stat.
func procStart(pid int) (uint64, error) {
	f, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(f[19], 10, 64) // field 22 is the 20th after the name
}

// procGroup is a process's process group ID, field 5 of /proc/PID/stat.
func procGroup(pid int) (int, error) {
	f, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(f[2]) // field 5 is the 3rd after the name
}

// groupMembers is the PIDs of the processes in process group pgid, zombies
// included, but for its leader (pid pgid).
func groupMembers(pgid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == pgid {
			continue
		}
		if g, err := procGroup(pid); err == nil && g == pgid {
			out = append(out, pid)
		}
	}
	return out
}

// procStat is the fields of /proc/PID/stat after the command name (field
// 2): field 3 first. There are at least 20.
func procStat(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return nil, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	return f, nil
}
