package agent

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// markEnv is the variable that marks every process of a task. A process
// that leaves the task's process group (setsid, setpgid: torchrun starts
// each worker in a session of its own) keeps its environment, so the
// agent still finds it, through /proc/PID/environ, to kill it with the
// rest of the task, and after a crash of the agent (leftovers.go). The
// value is random: no other process carries it, whatever PIDs are
// reused; each is signalled through a pidfd held while its mark is read
// again (killIfMarked). A process that clears its environment is not
// found, nor one that makes itself non-dumpable where the agent may not
// read its environment then (told: it is taken for one without the
// mark).
const markEnv = "CARNOT_TASK_MARK"

// newMark is a fresh mark, as the "NAME=value" environment entry.
func newMark() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return markEnv + "=" + hex.EncodeToString(b)
}

// marked is the PIDs of the live processes (not zombies, whose
// environment is gone) that carry one of marks, the agent's own process
// excepted. Processes whose environment the agent may not read are not
// seen.
func marked(marks ...string) []int {
	if len(marks) == 0 {
		return nil
	}
	self := os.Getpid()
	var out []int
	for _, pid := range procPIDs() {
		if pid <= 1 || pid == self {
			continue
		}
		if carries(pid, marks) {
			out = append(out, pid)
		}
	}
	return out
}

// scanTask walks /proc once for a task: members is the live processes of
// its process group pgid (its leader excepted; none when pgid is 0),
// ended the members that are dead (zombies.go: its SIGKILL is no longer
// needed, their parent may reap them), marked the live processes out of
// that group that carry one of marks, the agent's own process excepted,
// and undecided those of which it could not tell (readMark). Only the
// members' environments are not read: the group's SIGKILL reaches them.
func scanTask(pgid int, marks ...string) (members, ended, marked, undecided []int) {
	self := os.Getpid()
	for _, pid := range procPIDs() {
		if pid <= 1 || pid == self || pid == pgid {
			continue
		}
		if pgid > 0 {
			if f, err := procStat(pid); err == nil && f[2] == strconv.Itoa(pgid) {
				if dead(pid, f[0]) {
					ended = append(ended, pid)
				} else {
					members = append(members, pid)
				}
				continue
			}
		}
		if len(marks) == 0 {
			continue
		}
		switch m, known := readMark(pid, marks); {
		case m != "":
			marked = append(marked, pid)
		case !known:
			undecided = append(undecided, pid)
		}
	}
	return members, ended, marked, undecided
}

// carries reports whether process pid's environment holds one of marks.
func carries(pid int, marks []string) bool {
	return markOf(pid, marks) != ""
}

// markOf is the one of marks process pid's environment holds; "" when
// it holds none, or when that cannot be told (readMark).
func markOf(pid int, marks []string) string {
	m, _ := readMark(pid, marks)
	return m
}

// readMark is the one of marks process pid's environment holds, and
// whether that could be told. A process in the middle of an exec reads
// as having no environment (nor command line) until the new program's
// is set up: its environment is read again, for up to execWait, rather
// than taken for one without a mark. It cannot be told (known false,
// mark "") of a process still in an exec after execWait, nor of one
// whose environment's read did not end (environWait) or failed but for
// the process being gone, or the agent not being allowed to read it (a
// process it may not signal either).
func readMark(pid int, marks []string) (mark string, known bool) {
	end := time.Now().Add(execWait)
	for {
		env, err := environ(pid) // within environWait: errEnvironStuck when stuck
		switch {
		case err != nil:
			return "", told(err)
		case len(env) > 0:
			return envMark(env, marks), true
		}
		if !execing(pid) {
			// Not in an exec, or no longer: the exec may have ended
			// between the two reads, and the next one tells.
			env, err = environ(pid)
			return envMark(env, marks), err == nil || told(err)
		}
		if time.Now().After(end) {
			return "", false
		}
		time.Sleep(time.Millisecond)
	}
}

// procComms is the command names (/proc/PID/comm, which does not take
// the lock of the process's memory) of pids, "?" for one that cannot be
// read.
func procComms(pids []int) []string {
	out := make([]string, len(pids))
	for i, pid := range pids {
		out[i] = "?"
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm"); err == nil {
			out[i] = strings.TrimSuffix(string(b), "\n")
		}
	}
	return out
}

// told reports whether err, of a read of a process's environment, tells
// that it holds no mark: the process is gone, or the agent may not read
// it (nor signal it, then).
func told(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) || errors.Is(err, fs.ErrPermission)
}

// envMark is the one of marks that the environment env (NUL-separated
// entries) holds; "" when it holds none.
func envMark(env []byte, marks []string) string {
	for kv := range bytes.SplitSeq(env, []byte{0}) {
		if m := hasMark(kv, marks); m != "" {
			return m
		}
	}
	return ""
}

// execWait bounds how long readMark waits for an exec to set up a
// process's environment; an exec takes well under a millisecond.
const execWait = 100 * time.Millisecond

// The kernel's flags of a process (/proc/PID/stat's field 9): a kernel
// thread (PF_KTHREAD) has no environment at all, and an exiting process
// (PF_EXITING) none once it let go of its memory, which comes before it
// closes its files (a GPU driver's teardown there can take seconds).
const (
	pfExiting = 0x00000004
	pfKthread = 0x00200000
)

// execing reports whether process pid may be in the middle of an exec:
// it is live, neither a kernel thread nor exiting, and neither its
// environment (read by the caller) nor its command line has been set up.
func execing(pid int) bool {
	f, err := procStat(pid)
	if err != nil || f[0] == "Z" || f[0] == "X" {
		return false
	}
	if flags, err := strconv.ParseUint(f[6], 10, 64); err != nil || flags&(pfKthread|pfExiting) != 0 {
		return false
	}
	cmd, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return err == nil && len(cmd) == 0
}

// hasMark is the one of marks that the environment entry kv is; "" when
// it is none.
func hasMark(kv []byte, marks []string) string {
	for _, m := range marks {
		if string(kv) == m {
			return m
		}
	}
	return ""
}

// beforeMarkKill, a test hook, runs as killMarked is about to signal a
// process its scan found. Nil outside tests.
var beforeMarkKill func(pid int)

// killMarked sends SIGKILL to every live process carrying one of marks
// and returns those it killed.
func killMarked(marks ...string) []int {
	return killIfStillMarked(marked(marks...), marks)
}

// killMarkedBy is killMarked, the processes it killed by their mark.
func killMarkedBy(marks []string) map[int]string {
	out := map[int]string{}
	for _, pid := range marked(marks...) {
		if m := markOf(pid, marks); m != "" && len(killIfStillMarked([]int{pid}, []string{m})) > 0 {
			out[pid] = m
		}
	}
	return out
}

// killIfStillMarked sends SIGKILL to each of pids, found carrying one of
// marks, that still does (killIfMarked), and returns those it killed.
func killIfStillMarked(pids []int, marks []string) []int {
	var out []int
	for _, pid := range pids {
		if beforeMarkKill != nil {
			beforeMarkKill(pid)
		}
		if killIfMarked(pid, marks) == nil {
			out = append(out, pid)
		}
	}
	return out
}

// killIfMarked sends SIGKILL to process pid if it carries one of marks.
// The process is held by a pidfd while its mark is read again, and
// signalled through it: a process that ended after the scan, its PID
// taken by another since, is never signalled. (ESRCH when it is not the
// marked one; a kernel without pidfds, before Linux 5.3, gets the plain
// kill.)
func killIfMarked(pid int, marks []string) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, syscall.ENOSYS) {
		return syscall.Kill(pid, syscall.SIGKILL)
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if !carries(pid, marks) {
		return syscall.ESRCH
	}
	return unix.PidfdSendSignal(fd, syscall.SIGKILL, nil, 0)
}
