package agent

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// escapedTask starts a task whose process leaves its group (setsid) and
// sleeps, and whose main process ends once end is called; pid is the
// process that left.
func escapedTask(t *testing.T, r *processes, job string) (p *process, pid int, end func()) {
	t.Helper()
	dir := t.TempDir()
	esc, goFile := filepath.Join(dir, "escaped"), filepath.Join(dir, "go")
	task := sh(job, 0, `setsid sleep 1000 >/dev/null 2>&1 </dev/null &
echo $! > "$ESC"
while [ ! -e "$GO" ]; do sleep 0.01; done`, map[string]string{"ESC": esc, "GO": goFile})
	started, err := r.Start(task)
	if err != nil {
		t.Fatal(err)
	}
	pid = readPID(t, esc)
	t.Cleanup(func() { _ = killPID(pid) })
	// Out of the group once it runs sleep: a SIGKILL of the group before
	// then kills it, in the group still.
	eventually(t, 3*time.Second, func() bool {
		comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		g, gerr := procGroup(pid)
		return err == nil && gerr == nil && strings.TrimSpace(string(comm)) == "sleep" && g == pid
	}, "process %d to run sleep out of the task's group", pid)
	return started.(*process), pid, func() {
		if err := os.WriteFile(goFile, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// A process out of the task's group whose mark cannot be told at the
// task's end (its environment's read does not end in environWait: a
// process stuck holding its memory's lock; or one stuck in an exec past
// execWait) is looked at again before the end is reported, and killed
// once its mark is read. Before, it was taken for a process without the
// mark and left running. The read is held by the test (blockEnviron)
// for 300 ms after it began, which no process does on demand.
func TestAProcessWhoseMarkIsToldOnlyAtARescanIsKilled(t *testing.T) {
	var logs syncBuffer
	r := newProcesses(t.TempDir(), 0, slog.New(slog.NewTextHandler(&logs, nil)))
	p, pid, end := escapedTask(t, r, "j-rescan")
	reads, release := blockEnviron(t, pid)
	go func() {
		for reads.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
		release()
	}()
	end()
	x := p.Wait()
	if len(x.Outlived) > 0 {
		t.Errorf("outlived: %v; want none", x.Outlived)
	}
	deadline := time.Now().Add(time.Second) // dead, or a zombie init has yet to reap
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if alive(pid) {
		t.Errorf("process %d, out of the task's group, its mark read only at a rescan, still runs after the task's end", pid)
	}
	if strings.Contains(logs.String(), "cannot tell whether") {
		t.Errorf("warned of a process whose mark was told; log:\n%s", &logs)
	}
}

// A process whose mark cannot be told for undecidedWait does not hold
// the task's end, and is named, with its command, in a warning: it may
// be one of the task's that is left running. Before, it was passed over
// as one without the mark.
func TestAProcessWhoseMarkIsNeverToldIsNamed(t *testing.T) {
	var logs syncBuffer
	r := newProcesses(t.TempDir(), 0, slog.New(slog.NewTextHandler(&logs, nil)))
	p, pid, end := escapedTask(t, r, "j-never")
	blockEnviron(t, pid)
	began := time.Now()
	end()
	x := p.Wait()
	took := time.Since(began)
	if len(x.Outlived) > 0 {
		t.Errorf("outlived: %v; want none", x.Outlived)
	}
	if took < undecidedWait || took > undecidedWait+3*time.Second {
		t.Errorf("the task's end took %v; want the %v of rescans", took, undecidedWait)
	}
	want := fmt.Sprintf("pids=[%d] commands=[sleep]", pid)
	if s := logs.String(); !strings.Contains(s, "cannot tell whether processes out of the task's group carry its mark") || !strings.Contains(s, want) {
		t.Errorf("no warning naming process %d (%s); log:\n%s", pid, want, s)
	}
}

// markedLeftover is a process a crashed agent left, as recorded before
// its task's process started (its mark alone), that sleeps in a process
// group of its own; the record is in dir.
func markedLeftover(t *testing.T, dir string) (pid int) {
	t.Helper()
	mark := newMark()
	cmd := exec.Command("sleep", "1000")
	cmd.Env = append(taskBaseEnv(), mark)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	b, _ := json.Marshal([]group{{Task: "j/0/1", Mark: mark, GPUs: []int{}}})
	if err := os.WriteFile(filepath.Join(dir, groupsFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// releaseAfter releases a read that blocks (blockEnviron) d after it
// began.
func releaseAfter(reads *atomic.Int64, release func(), d time.Duration) {
	go func() {
		for reads.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(d)
		release()
	}()
}

// The agent started after a crash looks again, as a task's end does,
// at a process of which it could not tell whether it carries a recorded
// mark, and kills it once told. Before, it took it for one without the
// mark and left it running.
func TestALeftoverWhoseMarkIsToldOnlyAtARescanIsKilled(t *testing.T) {
	dir := t.TempDir()
	pid := markedLeftover(t, dir)
	reads, release := blockEnviron(t, pid)
	releaseAfter(reads, release, 300*time.Millisecond)
	newProcesses(dir, 0, slog.New(slog.DiscardHandler)).killLeftovers()
	eventually(t, time.Second, func() bool { return !alive(pid) },
		"the previous agent's process %d, its mark read only at a rescan, to be killed", pid)
}

// One whose mark the agent started after a crash never can tell within
// undecidedWait is named in a warning, and holds its start no longer.
func TestALeftoverWhoseMarkIsNeverToldIsNamed(t *testing.T) {
	dir := t.TempDir()
	pid := markedLeftover(t, dir)
	blockEnviron(t, pid)
	var logs syncBuffer
	began := time.Now()
	newProcesses(dir, 0, slog.New(slog.NewTextHandler(&logs, nil))).killLeftovers()
	if took := time.Since(began); took < undecidedWait || took > undecidedWait+3*time.Second {
		t.Errorf("the check took %v; want the %v of rescans", took, undecidedWait)
	}
	want := fmt.Sprintf("pids=[%d] commands=[sleep]", pid)
	if s := logs.String(); !strings.Contains(s, "cannot tell whether processes carry the mark of a task a previous agent left") || !strings.Contains(s, want) {
		t.Errorf("no warning naming process %d (%s); log:\n%s", pid, want, s)
	}
	if !alive(pid) {
		t.Errorf("process %d, whose mark was never read, was killed", pid)
	}
}

// A stop's SIGKILL looks again, as a task's end does, at a process out
// of the task's group of which it could not tell whether it carries the
// task's mark, and kills it once told, before it returns. Before, only
// the task's end looked again: a task whose main process outlives its
// SIGKILL (stuck in a driver call) does not end, and such a process ran
// on meanwhile.
func TestAStopsKillLooksAgainAtAProcessWhoseMarkIsToldLate(t *testing.T) {
	r := newProcesses(t.TempDir(), 0, slog.New(slog.DiscardHandler))
	p, pid, _ := escapedTask(t, r, "j-stop-rescan")
	reads, release := blockEnviron(t, pid)
	releaseAfter(reads, release, 300*time.Millisecond)
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Errorf("SIGKILL: %v", err)
	}
	eventually(t, time.Second, func() bool { return !alive(pid) },
		"process %d, out of the task's group, its mark read only at a rescan, to be killed by the stop's SIGKILL", pid)
	p.Wait()
}

// One whose mark the stop's SIGKILL never can tell within undecidedWait
// is named in a warning.
func TestAStopsKillNamesAProcessWhoseMarkIsNeverTold(t *testing.T) {
	var logs syncBuffer
	r := newProcesses(t.TempDir(), 0, slog.New(slog.NewTextHandler(&logs, nil)))
	p, pid, _ := escapedTask(t, r, "j-stop-never")
	blockEnviron(t, pid)
	began := time.Now()
	_ = p.Signal(syscall.SIGKILL)
	if took := time.Since(began); took < undecidedWait || took > undecidedWait+3*time.Second {
		t.Errorf("the SIGKILL took %v; want the %v of rescans", took, undecidedWait)
	}
	want := fmt.Sprintf("pids=[%d] commands=[sleep]", pid)
	if s := logs.String(); !strings.Contains(s, "cannot tell whether processes out of the task's group carry its mark") ||
		!strings.Contains(s, "SIGKILL not sent to them") || !strings.Contains(s, want) {
		t.Errorf("no warning naming process %d (%s); log:\n%s", pid, want, s)
	}
	p.Wait()
}

// A process whose environment's read is stuck is waited for
// undecidedWait from when its read got stuck, whichever scan began it:
// tasks ending together share that wait (each task's end runs on its
// own), and a task that ends later does not wait for it again, but
// names it at once. Before, each task's end waited its own 2 s for the
// same process: while one stays stuck (for hours, in a driver call that
// hangs), every task's end on the node came 2 s late.
func TestAStuckProcessIsWaitedForOnceAcrossTaskEnds(t *testing.T) {
	pid := sleeper(t) // no task's
	blockEnviron(t, pid)
	var logs syncBuffer
	r := newProcesses(t.TempDir(), 0, slog.New(slog.NewTextHandler(&logs, nil)))
	start := func(job string) *process {
		p, err := r.Start(sh(job, 0, `sleep 0.1`, nil))
		if err != nil {
			t.Fatal(err)
		}
		return p.(*process)
	}
	a, b := start("a"), start("b")
	began := time.Now()
	var wg sync.WaitGroup
	for _, p := range []*process{a, b} {
		wg.Go(func() { p.Wait() })
	}
	wg.Wait()
	took := time.Since(began)
	t.Logf("two tasks ending together: %v", took)
	if took > undecidedWait+time.Second {
		t.Errorf("two tasks ending together took %v; want one wait of %v for both", took, undecidedWait)
	}
	c := start("c")
	began = time.Now()
	c.Wait()
	took = time.Since(began)
	t.Logf("a task ending later (it runs 0.1 s): %v", took)
	if took > time.Second {
		t.Errorf("a task ending after the stuck process was waited for took %v; want no wait for it again", took)
	}
	want := fmt.Sprintf("task=c/0/1 pgid=%d pids=[%d]", c.PID(), pid)
	if s := logs.String(); !strings.Contains(s, want) {
		t.Errorf("no warning naming process %d at c's end (%s); log:\n%s", pid, want, s)
	}
}
