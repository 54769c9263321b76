package agent

import (
	"maps"
	"slices"
	"strconv"
	"time"
)

// What of a crashed agent's tasks outlives the next agent's SIGKILL (a
// process in uninterruptible sleep in a driver call that hangs) is
// treated as what of an ended task outlives the agent's own (health.go):
// groups.json names each task's GPUs, and the next agent keeps them down
// while those processes are there, recorded in outlived.json for the
// agent after it. A groups.json of an older agent names no GPUs: its
// survivors are only logged, their GPUs unknown.

// leftover is what the next agent found of one group a previous agent
// recorded as it killed it: the processes of its process group, or of
// those of its marked processes, with their start times (a PID reused
// since is not theirs). Those that led a group are gone once zombies, as
// a task's main process is once it ended: its parent reaps it.
type leftover struct {
	procs   map[int]uint64
	leaders map[int]bool
}

// note records the processes of process group pgid, which is pinned
// (killPinnedGroup): its ID is not another group's.
func (l *leftover) note(pgid int) {
	for _, pid := range append(groupMembers(pgid), pgid) {
		if start, err := procStart(pid); err == nil {
			l.procs[pid] = start
		}
	}
	l.leaders[pgid] = true
}

// left is the processes of l still there; it forgets those gone.
func (l *leftover) left() map[int]uint64 {
	out := map[int]uint64{}
	for pid, start := range l.procs {
		if f, err := procStat(pid); err == nil && f[0] != "X" && (f[0] != "Z" || !l.leaders[pid]) && f[19] == strconv.FormatUint(start, 10) {
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
		if first && len(killed) > 0 {
			r.log.Warn("killing the processes of its tasks a previous agent left running", "processes", len(killed))
		}
		for pid, m := range killed {
			if start, err := procStart(pid); err == nil {
				left[byMark[m]][pid] = start
			}
		}
		for _, l := range left {
			n += len(l)
		}
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return r.outlivedLeftovers(gs, left)
		}
		time.Sleep(10 * time.Millisecond)
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
