package agent

import (
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

// takePID starts `sleep 30` in a process group of its own with PID pid
// if it can: it sets the namespace's last PID (root only) and tries a
// few times, other processes forking meanwhile. It returns the process
// started, whatever PID it got; nil when it cannot set the last PID.
func takePID(t *testing.T, pid int) *exec.Cmd {
	t.Helper()
	var cmd *exec.Cmd
	for range 50 {
		if err := os.WriteFile("/proc/sys/kernel/ns_last_pid", []byte(strconv.Itoa(pid-1)), 0); err != nil {
			return nil
		}
		cmd = exec.Command("sleep", "30")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if cmd.Process.Pid == pid {
			break
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// A signal a stop sends to an ended task whose output the agent still
// reads (a process that left the task holds its stdout) does not reach a
// process group that took the task's PID, free since its main process
// was reaped: the task's process no longer signals its group once it
// reaped its leader. (PIDs wrap at pid_max, 32768 in many containers.)
func TestSignalAfterTheEndSparesAReusedPID(t *testing.T) {
	if _, err := os.Stat("/proc/sys/kernel/ns_last_pid"); err != nil {
		t.Skip("no ns_last_pid to reuse a PID with")
	}
	dir := t.TempDir()
	esc := filepath.Join(dir, "escaped")
	r := newProcesses(dir, 0, slog.New(slog.DiscardHandler))
	// The main process leaves a process out of its group and without its
	// mark holding its stdout for a while, and exits. It waits until the
	// process runs sleep (setsid and env exec'd, the mark gone with env
	// -i), not until its environment lacks the mark: a process in the
	// middle of an exec reads as having no environment, so the main
	// process could end while env still carried the mark, and the agent
	// would kill it with the task's marked processes.
	task := sh("j-reuse", 0, `setsid env -i sleep 60 &
echo $! > "$ESC"
until [ "$(cat /proc/$!/comm)" = sleep ]; do sleep 0.01; done
exit 0`, map[string]string{"ESC": esc})
	proc, err := r.Start(task)
	if err != nil {
		t.Fatal(err)
	}
	p := proc.(*process)
	pid := p.PID()
	waited := make(chan struct{}) // closed when Wait returns
	go func() { p.Wait(); close(waited) }()
	t.Cleanup(func() { _ = killPID(readPID(t, esc)); <-waited })
	eventually(t, 3*time.Second, func() bool { return gone(pid) }, "the task's main process %d to end and be reaped", pid)

	victim := takePID(t, pid)
	if victim == nil {
		t.Skip("cannot set ns_last_pid (not root)")
	}
	if victim.Process.Pid != pid {
		t.Skipf("could not take PID %d (took %d): other processes forked meanwhile", pid, victim.Process.Pid)
	}
	select {
	case <-waited:
		t.Fatal("the task's Wait returned before the test could signal it: the escaped process no longer holds its output")
	default:
	}
	_ = p.Signal(syscall.SIGTERM) // a stop that comes now
	_ = p.Signal(syscall.SIGKILL) // and its grace over
	// SIGPROF after: signals pending are delivered lowest first, so the
	// victim dies of SIGKILL or SIGTERM if the task's signals reached it.
	_ = victim.Process.Signal(syscall.SIGPROF)
	_ = victim.Wait()
	ws := victim.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGPROF {
		t.Errorf("the process group that took the ended task's PID %d ended so: %v; want it spared (ended by the test's SIGPROF)", pid, victim.ProcessState)
	}
}

// A marked process that ends, and whose PID another process takes,
// between the agent's scan of /proc and its SIGKILL is not taken for
// the marked one: the other process is spared.
func TestKillMarkedSparesAPIDReusedAfterTheScan(t *testing.T) {
	if _, err := os.Stat("/proc/sys/kernel/ns_last_pid"); err != nil {
		t.Skip("no ns_last_pid to reuse a PID with")
	}
	mark := newMark()
	target := exec.Command("sleep", "30")
	target.Env = append(os.Environ(), mark)
	if err := target.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = target.Process.Kill(); _ = target.Wait() })
	pid := target.Process.Pid
	eventually(t, 3*time.Second, func() bool { return len(marked(mark)) == 1 }, "the marked process %d to be seen", pid)
	var victim *exec.Cmd
	beforeMarkKill = func(p int) {
		if p != pid || victim != nil {
			return
		}
		_ = target.Process.Kill() // it ends, is reaped, and its PID is free
		_ = target.Wait()
		victim = takePID(t, pid)
	}
	defer func() { beforeMarkKill = nil }()
	killMarked(mark)
	if victim == nil {
		t.Skip("cannot set ns_last_pid (not root)")
	}
	if victim.Process.Pid != pid {
		t.Skipf("could not take PID %d (took %d): other processes forked meanwhile", pid, victim.Process.Pid)
	}
	_ = victim.Process.Signal(syscall.SIGPROF) // delivered after a SIGKILL pending
	_ = victim.Wait()
	ws := victim.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGPROF {
		t.Errorf("the process that took the marked process's PID %d ended so: %v; want it spared", pid, victim.ProcessState)
	}
}

// A previous agent's leftover group whose leader ends, its group empty
// and its PID taken by another process's group, between the next
// agent's check of the leader (its start time) and its SIGKILL, is not
// taken for the leftover: the other group is spared.
func TestKillLeftoversSparesAPIDReusedAfterTheCheck(t *testing.T) {
	if _, err := os.Stat("/proc/sys/kernel/ns_last_pid"); err != nil {
		t.Skip("no ns_last_pid to reuse a PID with")
	}
	dir := t.TempDir()
	left := exec.Command("sleep", "30")
	left.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := left.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = left.Process.Kill(); _ = left.Wait() })
	pid := left.Process.Pid
	start, err := procStart(pid)
	if err != nil {
		t.Fatal(err)
	}
	// Start times count clock ticks (10 ms): the process that takes the
	// PID must start in a later one, as it would after a crash.
	eventually(t, time.Second, func() bool { return uptimeTicks(t) > start+1 }, "a clock tick past the leftover's start")
	b, _ := json.Marshal([]group{{Task: "j-left/0/1", PGID: pid, Start: start}})
	if err := os.WriteFile(filepath.Join(dir, groupsFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	var victim *exec.Cmd
	beforeLeftoverKill = func(p int) {
		if p != pid || victim != nil {
			return
		}
		_ = left.Process.Kill() // the leader ends, is reaped, its group is empty
		_ = left.Wait()
		victim = takePID(t, pid)
	}
	defer func() { beforeLeftoverKill = nil }()
	newProcesses(dir, 0, slog.New(slog.DiscardHandler)).killLeftovers()
	if victim == nil {
		t.Fatal("killLeftovers did not find the leftover group running")
	}
	if victim.Process.Pid != pid {
		t.Skipf("could not take PID %d (took %d): other processes forked meanwhile", pid, victim.Process.Pid)
	}
	_ = victim.Process.Signal(syscall.SIGPROF) // delivered after a SIGKILL pending
	_ = victim.Wait()
	ws := victim.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGPROF {
		t.Errorf("the group that took the leftover's PID %d ended so: %v; want it spared", pid, victim.ProcessState)
	}
}

// uptimeTicks is the time since boot in clock ticks of 10 ms, as
// /proc/PID/stat counts start times (USER_HZ 100).
func uptimeTicks(t *testing.T) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		t.Fatal(err)
	}
	secs, _, _ := strings.Cut(string(b), " ")
	f, err := strconv.ParseFloat(secs, 64)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(f * 100)
}
