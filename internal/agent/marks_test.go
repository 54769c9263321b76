package agent

import (
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

// alive reports whether process pid exists and is not a zombie: a
// zombie holds no memory, no files and no GPU, and waits for its parent.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || !strings.HasPrefix(s[i+1:], " Z")
}

// A task's processes that left its process group (setsid, as torchrun
// starts its workers) end with the task: when the agent stops it, and
// when its main process ends on its own. The end is reported once they
// are gone.
func TestKillsProcessesThatLeftTheGroup(t *testing.T) {
	for _, c := range []struct {
		name   string
		script string
		stop   bool
	}{
		// The launcher ignores SIGTERM; its worker, in a session of its
		// own, too: only SIGKILL after the grace ends them.
		{"stopped", `trap '' TERM
setsid sh -c 'trap "" TERM; echo $$ > "$ESC"; exec sleep 300' &
while :; do sleep 0.02; done`, true},
		// The launcher dies and leaves its worker behind.
		{"main process ends", `setsid sh -c 'echo $$ > "$ESC"; exec sleep 300' &
while [ ! -e "$ESC" ]; do sleep 0.02; done
exit 3`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := newFakeServer()
			startAgent(t, srv)
			esc := filepath.Join(t.TempDir(), "escaped")
			task := sh("j-esc", 0, c.script, map[string]string{"ESC": esc})
			task.GraceSeconds = 0.2
			srv.assign(task)
			pid := readPID(t, esc)
			t.Cleanup(func() { _ = killPID(pid) })
			if c.stop {
				srv.waitStatus(t, "j-esc", 0, 1, running)
				task.Stop = true
				srv.assign(task)
			}
			st := srv.waitStatus(t, "j-esc", 0, 1, ended)
			if alive(pid) {
				t.Errorf("the task ended (%+v) but its process %d, which left the group, still runs", st, pid)
			}
		})
	}
}

// killPID kills a process a failed test may have left behind.
func killPID(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

// The mark is the agent's: a task cannot set it (to have another task's
// processes killed with its own) nor inherit the agent's.
func TestTaskCannotSetItsMark(t *testing.T) {
	t.Setenv(markEnv, "agents-own")
	r := newProcesses(t.TempDir(), 0, slog.New(slog.DiscardHandler))
	mark := newMark()
	cmd, logs, err := r.command(sh("j-mark", 0, "true", map[string]string{markEnv: "forged"}), mark)
	if err != nil {
		t.Fatal(err)
	}
	logs.close()
	var got []string
	for _, kv := range cmd.Env {
		if strings.HasPrefix(kv, markEnv+"=") {
			got = append(got, kv)
		}
	}
	if len(got) != 1 || got[0] != mark || mark == newMark() {
		t.Errorf("marks in the environment %q, want only %q (and a fresh one each time)", got, mark)
	}
}

// subreaperEnv runs TestReapsWhatItInherits's body in a child test
// process that is a child subreaper, as an agent that is PID 1 of a
// container is: orphans are reparented to it, not to init.
const subreaperEnv = "CARNOT_TEST_SUBREAPER"

const prSetChildSubreaper = 36 // PR_SET_CHILD_SUBREAPER, linux/prctl.h

// An agent that inherits the orphans of its tasks (PID 1 of a container,
// or a child subreaper) reaps those it killed: no zombie is left, and
// the end is reported at once rather than after the 5 s bound.
func TestReapsWhatItInherits(t *testing.T) {
	if os.Getenv(subreaperEnv) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestReapsWhatItInherits$", "-test.v")
		cmd.Env = append(os.Environ(), subreaperEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("in a subreaper: %v\n%s", err, out)
		}
		return
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); e != 0 {
		t.Skipf("cannot become a child subreaper: %v", e)
	}
	srv := newFakeServer()
	startAgent(t, srv)
	pids := t.TempDir()
	srv.assign(sh("j-reap", 0, `sleep 300 &
echo $! > "$PIDS/child"
setsid sleep 300 &
echo $! > "$PIDS/escaped"
exit 0`, map[string]string{"PIDS": pids}))
	child, escaped := readPID(t, filepath.Join(pids, "child")), readPID(t, filepath.Join(pids, "escaped"))
	t.Cleanup(func() { _ = killPID(child); _ = killPID(escaped) })
	began := time.Now()
	srv.waitStatus(t, "j-reap", 0, 1, ended)
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("the end was reported %s after the main process ended", took.Round(time.Millisecond))
	}
	eventually(t, time.Second, func() bool { return gone(child) && gone(escaped) },
		"the task's processes %d and %d to be reaped, not left as zombies", child, escaped)
}
