package agent

import (
	"errors"
	"io/fs"
	"os"
	"strconv"
)

// A zombie (state Z in /proc/PID/stat) has ended: it holds no memory, no
// files and nothing on a GPU, and waits only for its parent to reap it.
// A parent that never does (a container's PID 1 that does not reap, a
// process that forked and never waits) leaves it for as long as it
// lives, so a zombie is never what the agent waits for once it killed a
// task, nor what keeps a task's GPUs down (health.go, leftheld.go).
//
// But state Z is the state of a process's first thread (its thread group
// leader): one that ended by itself (pthread_exit) shows Z while the
// process's other threads run on, with its memory, and a process killed
// while one of its threads is stuck in a driver call shows Z while that
// thread holds the GPU. Such a process is not dead: its threads are
// read (/proc/PID/task) before it is taken for one.

// dead reports whether process pid, in state (field 3 of /proc/PID/stat),
// has ended: being reaped (X), or a zombie whose threads have all ended.
// A process whose threads cannot be read is not taken for dead.
func dead(pid int, state string) bool {
	switch state {
	case "X":
		return true
	case "Z":
	default:
		return false
	}
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return true // reaped meanwhile
	}
	if err != nil {
		return false
	}
	for _, e := range ents {
		b, err := os.ReadFile(dir + "/" + e.Name() + "/stat")
		if errors.Is(err, fs.ErrNotExist) {
			continue // that thread has ended
		}
		if err != nil {
			return false
		}
		if s := statState(b); s != "Z" && s != "X" {
			return false
		}
	}
	return true
}

// statState is the state (field 3) of a /proc/.../stat line; "" when it
// cannot be read.
func statState(b []byte) string {
	for i := len(b) - 1; i >= 0; i-- { // the name (field 2) may hold ") "
		if b[i] == ')' {
			if i+3 <= len(b) && b[i+1] == ' ' {
				return string(b[i+2 : i+3])
			}
			return ""
		}
	}
	return ""
}

// stillThere reports whether process pid, which started at start (clock
// ticks since boot), is still there and has not ended (dead): a PID
// reused since, or a zombie, is not.
func stillThere(pid int, start uint64) bool {
	f, err := procStat(pid)
	return err == nil && f[19] == strconv.FormatUint(start, 10) && !dead(pid, f[0])
}
