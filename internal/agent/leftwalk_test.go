package agent

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// killLeftoversWalks records n groups of spawnGroup as a crashed agent's
// (with GPUs) and returns how many times killing them walked /proc.
func killLeftoversWalks(t *testing.T, n int) int64 {
	t.Helper()
	dir := t.TempDir()
	var gs []group
	for range n {
		cmd := spawnGroup(t)
		start, err := procStart(cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		gs = append(gs, group{Task: "j/0/1", PGID: cmd.Process.Pid, Start: start, GPUs: []int{0}})
	}
	b, _ := json.Marshal(gs)
	if err := os.WriteFile(filepath.Join(dir, groupsFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	before := procWalks.Load()
	if left := newProcesses(dir, 0, slog.New(slog.DiscardHandler)).killLeftovers(); len(left) != 0 {
		t.Fatalf("left %+v; want nothing (each group's leader killed)", left)
	}
	return procWalks.Load() - before
}

// The next agent notes what each of a crashed agent's groups holds as it
// kills them (leftheld.go) with one walk of /proc for all of them: a walk
// reads every process's stat, and it runs before the agent registers.
// Before, each group's kill walked /proc: killing 50 groups among 1,170
// processes took 1.9 s on two loaded cores, 0.35 s with one walk.
func TestKillingLeftoversWalksProcOnceForAllGroups(t *testing.T) {
	one, six := killLeftoversWalks(t, 1), killLeftoversWalks(t, 6)
	if six != one {
		t.Errorf("killing 6 leftover groups walked /proc %d times, 1 group %d; want as many", six, one)
	}
}

// noteMembers takes a process of a killed group that started before the
// kill, on the clock of the processes' start times, and leaves out one
// that started after it: a later group that took the ID.
func TestNoteMembersLeavesOutProcessesStartedAfterTheKill(t *testing.T) {
	cmd := spawnGroup(t)
	pid := cmd.Process.Pid
	held := []leftover{
		{procs: map[int]uint64{}, killed: map[int]uint64{pid: bootTicks()}},                   // killed now
		{procs: map[int]uint64{}, killed: map[int]uint64{pid: bootTicks() - 10*clockTicks()}}, // 10 s ago
	}
	noteMembers(held)
	if _, ok := held[0].procs[pid]; !ok {
		t.Errorf("the group's leader, started before its kill, not noted: %v", held[0].procs)
	}
	if len(held[1].procs) != 0 {
		t.Errorf("noted %v of a group killed before they started; want none", held[1].procs)
	}
}
