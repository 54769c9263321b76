package agent

import (
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// leaderExitsEnv, set, makes this test binary a process whose first
// thread ends (leaderExited) as it starts, its other threads running on.
const leaderExitsEnv = "CARNOT_TEST_LEADER_EXITS"

func init() {
	if os.Getenv(leaderExitsEnv) == "" {
		return
	}
	runtime.LockOSThread() // the package's init runs on the first thread: end it alone
	go func() { time.Sleep(time.Hour) }()
	_, _, _ = syscall.RawSyscall(syscall.SYS_EXIT, 0, 0, 0)
}

// leaderExited starts a process whose first thread ended while its other
// threads run on: its /proc/PID/stat says Z, as a process's killed while
// one of its threads is stuck in a driver call does. It is killed when
// the test ends.
func leaderExited(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), leaderExitsEnv+"=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	pid := cmd.Process.Pid
	eventually(t, 5*time.Second, func() bool {
		f, err := procStat(pid)
		return err == nil && f[0] == "Z"
	}, "the first thread of process %d to end", pid)
	return pid
}

// zombieScript is a script that leaves a zombie nothing reaps: its sh
// writes its PID to pidFile, starts a child (in the script's process
// group) that exits once goFile exists, the zombie to be, then leaves
// the task (a session of its own, an environment without the task's
// mark) as a sleep, which never reaps it. A child that ended before the
// sh's exec could be reaped by the sh: goFile is made once it is sleep
// (zombieAfter).
func zombieScript(pidFile, goFile string) string {
	return `sh -c 'echo $$ > ` + pidFile + `; (while [ ! -e ` + goFile + ` ]; do sleep 0.01; done) & exec setsid env -i sleep 1000'`
}

// zombieAfter waits until process parent runs sleep, makes goFile, and
// returns the zombie child it is then left with.
func zombieAfter(t *testing.T, parent int, goFile string) int {
	t.Helper()
	eventually(t, 5*time.Second, func() bool {
		comm, err := os.ReadFile("/proc/" + strconv.Itoa(parent) + "/comm")
		return err == nil && strings.TrimSpace(string(comm)) == "sleep"
	}, "process %d to run sleep", parent)
	if err := os.WriteFile(goFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return zombieOf(t, parent)
}

// zombieOf waits for the zombie child of process parent and returns it.
func zombieOf(t *testing.T, parent int) int {
	t.Helper()
	zombie := 0
	eventually(t, 3*time.Second, func() bool {
		for _, pid := range procPIDs() {
			if f, err := procStat(pid); err == nil && f[0] == "Z" && f[1] == strconv.Itoa(parent) {
				zombie = pid
				return true
			}
		}
		return false
	}, "a zombie child of process %d", parent)
	return zombie
}

// isZombie reports whether process pid is a zombie.
func isZombie(pid int) bool {
	f, err := procStat(pid)
	return err == nil && f[0] == "Z"
}

// A zombie left in an ended task's process group, whose parent never
// reaps it (here a process gone out of the task; a container's PID 1
// that does not reap), holds nothing: the task's end is reported without
// waiting for it, and its GPUs are never down. Before, the zombie was
// taken for a process that outlived SIGKILL: the end waited
// groupGoneWait, and the GPUs stayed down for as long as the zombie was
// there, forever.
func TestZombieOfAnEndedTaskHoldsNoGPU(t *testing.T) {
	srv := newFakeServer()
	startAgent(t, srv, noCgroups) // the zombie's parent escapes group and mark
	tmp := t.TempDir()
	pidFile, goFile := filepath.Join(tmp, "parent.pid"), filepath.Join(tmp, "go")
	// The main process ends with the zombie's child (killed, if not
	// ended yet, it is a zombie as well).
	task := sh("j", 0, zombieScript(pidFile, goFile)+` & while [ ! -e `+goFile+` ]; do sleep 0.01; done`, nil)
	task.GPUs = []int{1}
	srv.assign(task)
	parent := readPID(t, pidFile)
	t.Cleanup(func() { _ = killPID(parent) })
	srv.waitStatus(t, "j", 0, 1, running)
	zombie := zombieAfter(t, parent, goFile)
	began := time.Now()
	srv.waitStatus(t, "j", 0, 1, ended)
	if took := time.Since(began); took >= groupGoneWait {
		t.Errorf("the end reported %v after the main process could end: the agent waited for the zombie", took)
	}
	n := len(srv.heartbeats())
	eventually(t, 5*time.Second, func() bool { return len(srv.heartbeats()) >= n+3 }, "three more heartbeats")
	for _, hb := range srv.heartbeats() {
		if len(hb.GPUsDown) > 0 {
			t.Fatalf("GPUs down in a heartbeat: %+v; want none (a zombie holds nothing)", hb.GPUsDown)
		}
	}
	if !isZombie(zombie) {
		t.Fatalf("process %d is no longer a zombie: the test proves nothing", zombie)
	}
}

// A crashed agent's task that leaves a zombie nothing reaps: the next
// agent does not wait for it, nor keeps the task's GPUs down for it.
func TestZombieOfACrashedAgentsTaskHoldsNoGPU(t *testing.T) {
	dir, tmp := t.TempDir(), t.TempDir()
	pidFile, goFile := filepath.Join(tmp, "parent.pid"), filepath.Join(tmp, "go")
	r := newProcesses(dir, 0, slog.New(slog.DiscardHandler))
	task := sh("j", 0, zombieScript(pidFile, goFile)+` & exec sleep 1000`, nil)
	task.GPUs = []int{1}
	p, err := r.Start(task)
	if err != nil {
		t.Fatal(err)
	}
	leader := p.(*process)
	t.Cleanup(func() { _ = leader.cmd.Process.Kill(); _ = leader.cmd.Wait() })
	parent := readPID(t, pidFile)
	t.Cleanup(func() { _ = killPID(parent) })
	leftTheTask(t, parent, leader.mark)
	zombie := zombieAfter(t, parent, goFile)

	srv := newFakeServer()
	began := time.Now()
	startAgent(t, srv, func(c *Config) { c.DataDir = dir })
	reg := nextRegistration(t, srv, 0)
	if took := time.Since(began); took >= groupGoneWait {
		t.Errorf("registered %v after the start: the agent waited for the zombie", took)
	}
	if len(reg.GPUsDown) != 0 {
		t.Errorf("GPUs down at registration: %+v; want none (a zombie holds nothing)", reg.GPUsDown)
	}
	if _, err := os.Stat(filepath.Join(dir, outlivedFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s: %v; want none", outlivedFile, err)
	}
	if !isZombie(zombie) {
		t.Fatalf("process %d is no longer a zombie: the test proves nothing", zombie)
	}
}

// Processes recorded as having outlived SIGKILL (outlived.json) that are
// zombies by the time the next agent reads them hold nothing: their
// GPUs are up. A process whose first thread ended while others run on
// (its stat says Z too) is not dead: its GPUs stay down.
func TestRecordedZombiesFreeTheirGPUs(t *testing.T) {
	goFile := filepath.Join(t.TempDir(), "go")
	parent := exec.Command("/bin/sh", "-c", `(while [ ! -e `+goFile+` ]; do sleep 0.01; done) & exec sleep 1000`)
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = parent.Process.Kill(); _ = parent.Wait() })
	zombie := zombieAfter(t, parent.Process.Pid, goFile)
	threaded := leaderExited(t)

	dir := t.TempDir()
	var recs []outlivedRecord
	for i, pid := range []int{zombie, threaded} {
		start, err := procStart(pid)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, outlivedRecord{Task: "j/0/" + strconv.Itoa(i+1), GPUs: []int{i}, Procs: map[int]uint64{pid: start}})
	}
	b, _ := json.Marshal(recs)
	if err := os.WriteFile(filepath.Join(dir, outlivedFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	a := &Agent{cfg: Config{DataDir: dir}, log: slog.New(slog.DiscardHandler)}
	if !a.loadOutlived(nil) {
		t.Fatal("loadOutlived: not recorded")
	}
	if len(a.outlived) != 1 || a.outlived[0].task != "j/0/2" {
		t.Errorf("outlived %+v; want j/0/2 alone, whose threads run on (not j/0/1, a zombie)", a.outlived)
	}
	if dead(zombie, "Z") != true || dead(threaded, "Z") != false {
		t.Errorf("dead: zombie %v, first thread ended %v; want true, false", dead(zombie, "Z"), dead(threaded, "Z"))
	}
}
