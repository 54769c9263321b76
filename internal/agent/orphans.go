package agent

import (
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// An agent that is PID 1 (of a container) or a child subreaper inherits
// the orphans of its tasks: a process whose parent ended (a daemon that
// double-forked) becomes its child, and a zombie once it ends, until the
// agent reaps it. The agent reaps those of its tasks' groups and the
// marked ones as the task ends (process.clearGroup); an orphan that ended
// before, out of its task's group, is a zombie no mark finds (its
// environment is gone). So at a heartbeat after a SIGCHLD came (a child
// of the agent changed state) the agent reaps every child of its own
// that ended and is no task's main process, as an init does. (The agent
// starts no other processes than its tasks.)

// inheritsOrphans reports whether orphaned processes become the agent's
// children: it is PID 1 or a child subreaper.
func inheritsOrphans() bool {
	if os.Getpid() == 1 {
		return true
	}
	var v int32
	err := unix.Prctl(unix.PR_GET_CHILD_SUBREAPER, uintptr(unsafe.Pointer(&v)), 0, 0, 0)
	return err == nil && v != 0
}

// watchChildren has SIGCHLD noted in r.children, with one pending: the
// first reapOrphans walks /proc (an orphan may have ended before).
func (r *processes) watchChildren() {
	r.children = make(chan os.Signal, 1)
	r.children <- syscall.SIGCHLD
	signal.Notify(r.children, syscall.SIGCHLD)
}

// stopWatching undoes watchChildren (the agent stops).
func (r *processes) stopWatching() {
	if r.children != nil {
		signal.Stop(r.children)
	}
}

// reapOrphans reaps, without waiting, the agent's children that ended and
// are no running task's main process (Wait reaps those, for their exit
// status); nothing unless the agent inherits orphans, and no walk of
// /proc unless a SIGCHLD came since the last (the note is taken before
// the walk: one that comes during it makes the next call walk again).
// The caller holds the agent's lock: no task is starting, so every main
// process started is recorded (leads).
func (r *processes) reapOrphans() {
	if !r.inherits {
		return
	}
	select {
	case <-r.children:
	default:
		return // no child changed state since the last walk
	}
	self := strconv.Itoa(os.Getpid())
	r.startMu.Lock()
	defer r.startMu.Unlock()
	var ws syscall.WaitStatus
	for _, pid := range procPIDs() {
		f, err := procStat(pid) // state, then parent
		if err != nil || f[0] != "Z" || f[1] != self || r.leads(pid) {
			continue
		}
		_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
	}
}
