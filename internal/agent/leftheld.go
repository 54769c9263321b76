package agent

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// What of a crashed agent's tasks outlives the next agent's SIGKILL (a
// process in uninterruptible sleep in a driver call that hangs) is
// treated as what of an ended task outlives the agent's own (health.go):
// groups.json names each task's GPUs, and the next agent keeps them down
// while those processes are there, recorded in outlived.json for the
// agent after it. A groups.json of an older agent names no GPUs: its
// survivors are only logged, their GPUs unknown.

// leftover is what the next agent found of one group a previous agent
// recorded as it killed it: the process groups it killed for it (its
// own, or those of its marked processes), each with the clock tick of
// the kill, and their processes (noteMembers), with their start times
// (a PID reused since is not theirs). A process is gone once dead, a
// zombie (zombies.go): whether its parent reaps it or not.
type leftover struct {
	procs  map[int]uint64
	killed map[int]uint64 // process group: clock ticks since boot as it was killed
}

// note records that process group pgid, pinned (killPinnedGroups), is
// killed now; noteMembers finds its processes, for every group at once.
func (l *leftover) note(pgid int) {
	l.killed[pgid] = bootTicks()
}

// pin is a candidate, of key, to pin and kill one of l's groups through
// process pid if is(pid) holds (killPinnedGroups): the group is noted
// as it is killed; pid alone, stuck (it did not stop), if none of key's
// candidates pinned it.
func (l *leftover) pin(key, pid int, is func(pid int) bool) pinCand {
	return pinCand{pid: pid, key: key, is: is, pinned: l.note, stuck: func(pid int) {
		if start, err := procStart(pid); err == nil {
			l.procs[pid] = start
		}
	}}
}

// noteMembers records in each of held the processes of the groups it
// killed, in one walk of /proc for all of them: one walk a group kept a
// node of many processes from registering for seconds. The walk follows
// the kills, so a group's ID may have been taken since by another group
// (nothing of it left): a process that started after its group's kill is
// not one of its processes, which cannot fork once killed. One tick of
// slack takes in a process forked as the group was killed.
func noteMembers(held []leftover) {
	groups := map[int][]int{} // process group: indices in held
	for i := range held {
		for pgid := range held[i].killed {
			groups[pgid] = append(groups[pgid], i)
		}
	}
	if len(groups) == 0 {
		return
	}
	for _, pid := range procPIDs() {
		f, err := procStat(pid)
		if err != nil {
			continue
		}
		pgid, err := strconv.Atoi(f[2])
		if err != nil || len(groups[pgid]) == 0 {
			continue
		}
		start, err := strconv.ParseUint(f[19], 10, 64)
		if err != nil {
			continue
		}
		for _, i := range groups[pgid] {
			if start <= held[i].killed[pgid]+1 {
				held[i].procs[pid] = start
			}
		}
	}
}

// bootTicks is the time since boot in the unit of /proc/PID/stat's
// start times (clockTicks a second), on their clock, CLOCK_BOOTTIME (a
// time namespace offsets both alike; /proc/uptime can be another's, as
// lxcfs serves it in a container); the last tick when it cannot be read
// (every process started before).
func bootTicks() uint64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil || ts.Sec < 0 {
		return math.MaxUint64 - 1 // + 1 in noteMembers
	}
	hz := clockTicks()
	return uint64(ts.Sec)*hz + uint64(ts.Nsec)*hz/1e9
}

// clockTicks is USER_HZ, the clock ticks a second of /proc/PID/stat's
// times: the kernel's AT_CLKTCK, 100 (every architecture the agent runs
// on) when it is not found.
var clockTicks = sync.OnceValue(func() uint64 {
	const atClkTck = 17 // AT_CLKTCK, linux/auxvec.h
	if auxv, err := unix.Auxv(); err == nil {
		for _, kv := range auxv {
			if kv[0] == atClkTck && kv[1] > 0 {
				return uint64(kv[1])
			}
		}
	}
	return 100
})

// left is the processes of l still there (not dead: zombies.go); it
// forgets those gone.
func (l *leftover) left() map[int]uint64 {
	out := map[int]uint64{}
	for pid, start := range l.procs {
		if stillThere(pid, start) {
			out[pid] = start
		} else {
			delete(l.procs, pid)
		}
	}
	return out
}

// waitLeftovers waits (groupGoneWait at most) until nothing is left of
// the groups gs, killed (held: what each had then; byMark: a mark's
// group), killing their marked processes again meanwhile. It returns
// what is still there then of the groups recorded with GPUs, and logs
// the rest.
func (r *processes) waitLeftovers(gs []group, held []leftover, byMark map[string]int, marks []string) []outlived {
	deadline := time.Now().Add(groupGoneWait)
	for first := true; ; first = false {
		left := make([]map[int]uint64, len(gs))
		n := 0
		for i := range held {
			left[i] = held[i].left()
		}
		killed := killMarkedBy(marks)
		r.logStuckEnvirons()
		if first && len(killed) > 0 {
			r.log.Warn("killing the processes of its tasks a previous agent left running", "processes", len(killed))
		}
		for pid, m := range killed {
			if start, err := procStart(pid); err == nil {
				left[byMark[m]][pid] = start
			}
		}
		for i, g := range gs {
			// a task's cgroup holds all that is left of it, whatever
			// its group and environment (cgroup.go)
			if !isTaskCgroup(g.Cgroup) {
				continue
			}
			if !cgroupPopulated(g.Cgroup) { // with the cgroups the task made below it
				continue
			}
			procs := cgroupProcs(g.Cgroup)
			if first {
				r.log.Warn("killing the processes left in a task's cgroup by a previous agent", "task", g.Task, "cgroup", g.Cgroup, "processes", len(procs))
			}
			_ = killCgroup(g.Cgroup)
			n++ // until it is empty, whether its processes are listed or not
			for _, pid := range procs {
				if start, err := procStart(pid); err == nil {
					left[i][pid] = start
				}
			}
		}
		for _, l := range left {
			n += len(l)
		}
		if n == 0 {
			for _, g := range gs {
				if isTaskCgroup(g.Cgroup) {
					_ = removeCgroup(g.Cgroup)
				}
			}
			return nil
		}
		if time.Now().After(deadline) {
			r.keepLeftoverCgroups(gs)
			return r.outlivedLeftovers(gs, left)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// keepLeftoverCgroups hands the recorded task cgroups that what outlived
// SIGKILL keeps to the agent's own (busy), to be removed once empty at a
// later task's end, as those of its own tasks are.
func (r *processes) keepLeftoverCgroups(gs []group) {
	if r.cg == nil {
		return
	}
	r.cg.mu.Lock()
	defer r.cg.mu.Unlock()
	for _, g := range gs {
		if isTaskCgroup(g.Cgroup) && !slices.Contains(r.cg.busy, g.Cgroup) {
			r.cg.busy = append(r.cg.busy, g.Cgroup)
		}
	}
}

// outlivedLeftovers logs the processes of groups gs left (by group) after
// the wait for them, and returns those of the groups with GPUs.
func (r *processes) outlivedLeftovers(gs []group, left []map[int]uint64) []outlived {
	var out []outlived
	for i, g := range gs {
		if len(left[i]) == 0 {
			continue
		}
		pids := slices.Sorted(maps.Keys(left[i]))
		switch {
		case g.GPUs == nil:
			r.log.Warn("processes a previous agent left outlive SIGKILL; their task's GPUs are unknown (an older agent recorded its group): drain the node until nvidia-smi shows them gone",
				"task", g.Task, "pids", pids)
		case len(g.GPUs) == 0:
			r.log.Warn("processes a previous agent left outlive SIGKILL; their task has no GPUs", "task", g.Task, "pids", pids)
		default:
			r.log.Warn("processes a previous agent left outlive SIGKILL; their task's GPUs stay down while they are there",
				"task", g.Task, "gpus", g.GPUs, "pids", pids)
			out = append(out, outlived{task: g.Task, gpus: g.GPUs, procs: left[i]})
		}
	}
	return out
}
