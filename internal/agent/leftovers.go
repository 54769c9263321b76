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
	"sync/atomic"
	"syscall"
)

// groupsFile, in the data directory, lists the process groups and marks
// of the tasks the agent runs, so that an agent started after a crash of
// the previous one (SIGKILL, power loss of the agent alone) kills what it
// left behind: the server's view wins, and it no longer assigns them.
const groupsFile = "groups.json"

// group is one task's process group, with its leader's start time (in
// clock ticks since boot, /proc/PID/stat) so that a reused PID is never
// taken for it, the task's mark (marks.go), which finds its processes
// once the leader is gone or out of the group, and the task's GPUs,
// which the next agent keeps down while processes of the group outlive
// its SIGKILL (leftheld.go). It is recorded before the process starts,
// with PGID 0 until it has: an agent killed as its task's process starts
// leaves the mark, which finds the process.
type group struct {
	Task  string `json:"task"`
	PGID  int    `json:"pgid"`
	Start uint64 `json:"start"`
	Mark  string `json:"mark,omitempty"`
	// GPUs is always listed, empty for a task without any; nil in a
	// group an older agent recorded: its GPUs are unknown.
	GPUs []int `json:"gpus"`
	// Cgroup is the task's cgroup (cgroup.go); "" when it has none.
	Cgroup string `json:"cgroup,omitempty"`
}

// track records the task's group: before its process starts (pgid 0,
// the mark alone) and once it has. It writes the groups to the file,
// atomically: a crash leaves the old file or the new one. An error means
// the file could not be written: a process started then could outlive a
// crash of the agent unseen.
func (r *processes) track(task, mark, cg string, gpus []int, pgid int) error {
	r.note(task, mark, cg, gpus, pgid)
	return r.writeGroups()
}

// writeGroups writes the groups recorded in memory to the file.
func (r *processes) writeGroups() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.writeGroupsLocked()
}

// note records the task's group in memory (leads), as track does,
// without writing the file.
func (r *processes) note(task, mark, cg string, gpus []int, pgid int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := group{Task: task, Mark: mark, GPUs: append([]int{}, gpus...), Cgroup: cg} // GPUs listed when empty
	if pgid > 0 {
		if start, err := procStart(pgid); err == nil { // else gone already: the mark finds what is left
			g.PGID, g.Start = pgid, start
		}
	}
	r.groups[mark] = g
}

// untrack forgets the task's group, of which nothing runs any more, and
// removes its cgroup (kept while processes that outlived SIGKILL are in
// it: the next agent removes it).
func (r *processes) untrack(mark string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g, ok := r.groups[mark]
	if !ok {
		return
	}
	if g.Cgroup != "" && r.cg != nil {
		r.cg.release(g.Cgroup, r.log)
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

// beforeLeftoverKill, a test hook, runs as killLeftovers is about to
// kill a recorded group it found running. Nil outside tests.
var beforeLeftoverKill func(pgid int)

// killLeftovers kills the process groups a previous agent recorded that
// still run (same leader, same start time, or the leader gone and
// members left) and every process carrying a recorded mark, with its
// group, the leader gone (or never recorded) or not; it waits
// (groupGoneWait at most) until nothing of them is left. It returns what
// outlived that SIGKILL of the groups recorded with GPUs (leftheld.go):
// their GPUs are down while it is there. The groups stay recorded until
// forgetLeftovers, once the caller has recorded what outlived it.
func (r *processes) killLeftovers() []outlived {
	var gs []group
	path, found, err := readRecord(r.dataDir, groupsFile, &gs)
	if !found {
		return nil
	}
	if err != nil {
		r.log.Warn("cannot read the process groups of a previous agent", "file", path, "err", err)
	}
	var marks []string
	byMark := map[string]int{}        // index in gs
	held := make([]leftover, len(gs)) // what each group had as it was killed
	own := syscall.Getpgrp()
	var cands []pinCand
	var running []int // indices in gs of the groups found running
	for i, g := range gs {
		held[i] = leftover{procs: map[int]uint64{}, killed: map[int]uint64{}}
		if g.Mark != "" {
			marks = append(marks, g.Mark)
			byMark[g.Mark] = i
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
		default:
			cands = append(cands, held[i].pin(i, g.PGID, startedAt(g.Start)))
		}
		r.log.Warn("killing the processes a previous agent left running", "task", g.Task, "pgid", g.PGID)
		if beforeLeftoverKill != nil {
			beforeLeftoverKill(g.PGID)
		}
		running = append(running, i)
	}
	// Any member pins its group as well as the leader does (it may be
	// stuck, or a zombie): all are found in one walk.
	members := groupsMembers(running, gs)
	for _, i := range running {
		for _, m := range members[gs[i].PGID] {
			cands = append(cands, held[i].pin(i, m, inGroup(gs[i].PGID)))
		}
	}
	tried := map[int]bool{}
	for _, c := range cands {
		tried[c.pid] = true
	}
	killPinnedGroups(cands, own)
	// A marked process's group goes with it: one recorded by its mark
	// alone (the agent died as it started) has members that do not carry
	// the mark (they cleared their environment). Those tried above (stuck)
	// are not waited for again. A process of which the scan cannot tell
	// whether it carries a mark is looked at again (lookForMarks).
	undecided := r.lookForMarks(marks, undecidedWait, func(found map[int]string) {
		var cands []pinCand
		for pid, m := range found {
			if !tried[pid] {
				c := held[byMark[m]].pin(len(cands), pid, func(pid int) bool { return carries(pid, []string{m}) })
				cands = append(cands, c)
			}
		}
		killPinnedGroups(cands, own)
	})
	warnUndecided(r.log, "cannot tell whether processes carry the mark of a task a previous agent left (in an exec, or their environment cannot be read): not killing them",
		undecided, undecidedWait)
	noteMembers(held)
	return r.waitLeftovers(gs, held, byMark, marks)
}

// forgetLeftovers removes the groups a previous agent recorded, once
// killLeftovers killed them and what outlived that is recorded
// (outlived.json): an agent killed before then (NVML hangs in pinGPUs
// as a driver does) leaves them to the next one. When that record could
// not be written they are left, until this agent records its own tasks'
// groups.
func (r *processes) forgetLeftovers() {
	if err := os.Remove(filepath.Join(r.dataDir, groupsFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		r.log.Warn("cannot remove the process groups of a previous agent", "err", err)
	}
}

// startedAt is a check that a process started at start (clock ticks since
// boot).
func startedAt(start uint64) func(pid int) bool {
	return func(pid int) bool {
		s, err := procStart(pid)
		return err == nil && s == start
	}
}

// inGroup is a check that a process is in process group pgid.
func inGroup(pgid int) func(pid int) bool {
	return func(pid int) bool {
		g, err := procGroup(pid)
		return err == nil && g == pgid
	}
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

// groupsMembers is the PIDs of the processes in the process groups of
// gs at indices, zombies included, but for their leaders, by group: one
// walk of /proc for all.
func groupsMembers(indices []int, gs []group) map[int][]int {
	if len(indices) == 0 {
		return nil
	}
	want := map[int]bool{}
	for _, i := range indices {
		want[gs[i].PGID] = true
	}
	out := map[int][]int{}
	for _, pid := range procPIDs() {
		if g, err := procGroup(pid); err == nil && want[g] && pid != g {
			out[g] = append(out[g], pid)
		}
	}
	return out
}

// procWalks counts the walks of /proc (procPIDs), for the tests that
// measure them.
var procWalks atomic.Int64

// procPIDs is the PIDs of the processes /proc lists; nil when it cannot
// be read.
func procPIDs() []int {
	procWalks.Add(1)
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	out := make([]int, 0, len(ents))
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
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
