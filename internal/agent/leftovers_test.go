package agent

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// spawnGroup starts `sleep 300` as the leader of its own process group.
func spawnGroup(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "300")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// An agent started after its predecessor died without stopping its tasks
// kills the process groups the predecessor recorded — but never a process
// that merely reuses a recorded PID.
func TestKillsWhatAPreviousAgentLeft(t *testing.T) {
	dir := t.TempDir()
	left, other := spawnGroup(t), spawnGroup(t)
	start, err := procStart(left.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	gs := []group{{Task: "j/0/1", PGID: left.Process.Pid, Start: start},
		{Task: "j/1/1", PGID: other.Process.Pid, Start: start + 12345}} // "reused" PID
	b, _ := json.Marshal(gs)
	if err := os.WriteFile(filepath.Join(dir, groupsFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	startAgent(t, newFakeServer(), func(c *Config) { c.DataDir = dir })
	done := make(chan error, 1)
	go func() { done <- left.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("the left-over task %d still runs", left.Process.Pid)
	}
	if err := syscall.Kill(other.Process.Pid, 0); err != nil {
		t.Errorf("a process whose PID matched but whose start did not was killed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, groupsFile)); err == nil {
		// The new agent rewrites it as its tasks start; none did.
		b, _ := os.ReadFile(filepath.Join(dir, groupsFile))
		t.Errorf("the old record is still there: %s", b)
	}
}

// While a task runs, its group is recorded; once it ended, it is not.
func TestRecordsRunningGroups(t *testing.T) {
	dir := t.TempDir()
	srv := newFakeServer()
	startAgent(t, srv, func(c *Config) { c.DataDir = dir })
	ready := filepath.Join(t.TempDir(), "ready")
	srv.assign(sh("j-rec", 0, `echo $$ > "$READY"; exec sleep 30`, map[string]string{"READY": ready}))
	pid := readPID(t, ready)
	var gs []group
	eventually(t, 2*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, groupsFile))
		return json.Unmarshal(b, &gs) == nil && len(gs) == 1 && gs[0].PGID == pid
	}, "the running task's group in %s", groupsFile)
	srv.assign() // gone from the assignments: killed as an orphan
	srv.waitStatus(t, "j-rec", 0, 1, ended)
	eventually(t, 2*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, groupsFile))
		return json.Unmarshal(b, &gs) == nil && len(gs) == 0
	}, "no group recorded once the task ended")
}

// A previous agent's task whose main process had ended when that agent
// died still had processes running, in its group and out of it: the
// next agent kills them too.
func TestKillsLeftoversOfAnEndedMainProcess(t *testing.T) {
	dir, pids := t.TempDir(), t.TempDir()
	r := newProcesses(dir, 0, slog.New(slog.DiscardHandler))
	task := sh("j-left", 0, `sleep 300 &
echo $! > "$PIDS/child"
setsid sleep 300 &
echo $! > "$PIDS/escaped"
exit 0`, map[string]string{"PIDS": pids})
	p, err := r.Start(task)
	if err != nil {
		t.Fatal(err)
	}
	child, escaped := readPID(t, filepath.Join(pids, "child")), readPID(t, filepath.Join(pids, "escaped"))
	t.Cleanup(func() { _ = killPID(child); _ = killPID(escaped) })
	// The agent dies as the main process ends: it is reaped (by init,
	// here by the test) and nothing clears its group or its record.
	_ = p.(*process).cmd.Wait()

	newProcesses(dir, 0, slog.New(slog.DiscardHandler)).killLeftovers()
	eventually(t, 5*time.Second, func() bool { return !alive(child) && !alive(escaped) },
		"the previous task's processes %d (its group) and %d (left it) to be killed", child, escaped)
}

// A previous agent's task whose main process had ended (say of SIGPIPE,
// as the dead agent's end of its pipes closed) left a process in its
// group that does not carry the task's mark (it cleared its environment,
// as a program that runs a command with an environment of its own
// does): the next agent kills the group, whose leader is gone.
func TestKillsTheGroupOfAGoneLeader(t *testing.T) {
	dir, pids := t.TempDir(), t.TempDir()
	r := newProcesses(dir, 0, slog.New(slog.DiscardHandler))
	task := sh("j-left", 0, `env -i sleep 300 &
echo $! > "$PIDS/child"
exit 0`, map[string]string{"PIDS": pids})
	p, err := r.Start(task)
	if err != nil {
		t.Fatal(err)
	}
	child := readPID(t, filepath.Join(pids, "child"))
	t.Cleanup(func() { _ = killPID(child) })
	// The agent dies as the main process ends: it is reaped (by init,
	// here by the test) and nothing clears its group or its record.
	_ = p.(*process).cmd.Wait()
	unmarked(t, child, p.(*process).mark)

	newProcesses(dir, 0, slog.New(slog.DiscardHandler)).killLeftovers()
	eventually(t, 5*time.Second, func() bool { return !alive(child) },
		"the previous task's process %d, in its group without its mark, to be killed", child)
}

// An agent killed as its task's process started recorded the task's
// mark only, not yet its group: the next agent finds the process by its
// mark, and kills its group with it, processes that do not carry the
// mark included.
func TestKillsTheGroupOfAMarkedLeftover(t *testing.T) {
	dir, pids := t.TempDir(), t.TempDir()
	mark := newMark()
	leader := exec.Command("/bin/sh", "-c", `env -i sleep 300 &
echo $! > "$PIDS/child"
exec sleep 300`)
	leader.Env = append(taskBaseEnv(), "PIDS="+pids, mark)
	leader.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := leader.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = leader.Process.Kill(); _ = leader.Wait() })
	child := readPID(t, filepath.Join(pids, "child"))
	t.Cleanup(func() { _ = killPID(child) })
	unmarked(t, child, mark)
	b, _ := json.Marshal([]group{{Task: "j/0/1", Mark: mark}}) // as recorded before the process started
	if err := os.WriteFile(filepath.Join(dir, groupsFile), b, 0o600); err != nil {
		t.Fatal(err)
	}

	newProcesses(dir, 0, slog.New(slog.DiscardHandler)).killLeftovers()
	eventually(t, 5*time.Second, func() bool { return !alive(child) && !alive(leader.Process.Pid) },
		"the previous task's process %d and its group's %d, without the mark, to be killed", leader.Process.Pid, child)
}

// unmarked waits until process pid runs sleep without the mark in its
// environment (env -i sleep: the shell's child carries it until then;
// its environment, read as it execs, is empty, hence the check of sleep).
func unmarked(t *testing.T, pid int, mark string) {
	t.Helper()
	eventually(t, 3*time.Second, func() bool {
		comm, cerr := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
		return cerr == nil && err == nil && strings.TrimSpace(string(comm)) == "sleep" && !bytes.Contains(env, []byte(mark))
	}, "process %d to run sleep without the task's mark", pid)
}
