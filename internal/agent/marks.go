package agent

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"syscall"
)

// markEnv is the variable that marks every process of a task. A process
// that leaves the task's process group (setsid, setpgid: torchrun starts
// each worker in a session of its own) keeps its environment, so the
// agent still finds it, through /proc/PID/environ, to kill it with the
// rest of the task, and after a crash of the agent (leftovers.go). The
// value is random: no other process carries it, whatever PIDs are
// reused. A process that clears its environment is not found.
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
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 1 || pid == self {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || len(env) == 0 {
			continue
		}
		for kv := range bytes.SplitSeq(env, []byte{0}) {
			if hasMark(kv, marks) {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

func hasMark(kv []byte, marks []string) bool {
	for _, m := range marks {
		if string(kv) == m {
			return true
		}
	}
	return false
}

// killMarked sends SIGKILL to every live process carrying one of marks
// and returns those it killed.
func killMarked(marks ...string) []int {
	var out []int
	for _, pid := range marked(marks...) {
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			out = append(out, pid)
		}
	}
	return out
}
