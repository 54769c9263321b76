package agent

import (
	"syscall"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// Runtime is how the agent executes a task. The agent decides what runs
// and when (reconciling the server's assignments) and stops tasks with
// signals; a Runtime starts the work and tells when it ended. The default
// runs each task as a process in its own process group, its output in the
// data directory; internal/fleet's fake makes a task a timer.
type Runtime interface {
	// Start starts the task. An error means it did not start: a
	// *StartError carries the exit code to report.
	Start(spec api.Task) (Process, error)
}

// Process is one started task.
type Process interface {
	// PID is the ID of the task's process group, 0 for a task that is no
	// process.
	PID() int
	// Signal sends sig (SIGTERM, then SIGKILL once the grace is over) to
	// all of the task. A task that already ended may answer ESRCH. The
	// agent sends SIGKILL without its lock: it may take a while (the
	// default runtime's looks again at processes whose mark it cannot
	// tell yet, 2 s at most).
	Signal(sig syscall.Signal) error
	// Wait blocks until the task has ended and nothing of it is left
	// running; the agent calls it once.
	Wait() Exit
}

// Exit is how a task ended.
type Exit struct {
	At     time.Time // when its main process ended
	Code   int       // exit code; 128 + N for a task killed by signal N
	Signal string    // the signal's name ("terminated", "killed") when one ended it
	Err    error     // waiting failed: Code and Signal are unknown
	// Outlived are the task's processes that were still there, SIGKILL
	// sent, when the agent stopped waiting for them (uninterruptible
	// sleep: a driver call that hangs): they may still hold its GPUs.
	Outlived []int
	// CPU is the CPU time all the task's processes used, user and
	// system, when it ran in a cgroup of its own (CPUKnown); read at its
	// end: what processes that outlived SIGKILL (Outlived) use after, or
	// one that moved itself out of the cgroup, is not in it.
	CPU      time.Duration
	CPUKnown bool
	// Forget, unless nil, is called once Outlived is recorded for the
	// next agent (outlived.json): until then the runtime keeps what
	// finds them recorded (the default one's groups.json), so that an
	// agent killed in between leaves them to the next.
	Forget func()
}

// StartError is a task that could not start, with the exit code to
// report as a shell would: 127 when the command was not found, 126 when
// it could not be run. Agent says the agent's own files failed it (its
// data directory cannot be written), not the task: every start on the
// node would fail alike (Agent.diskErr). Node says the cause is in the
// node's own software or file systems (the program, its interpreter or
// the work directory missing there), which another node may have right:
// the job's next attempts avoid the node (api.TaskStatus.AvoidNode;
// see startError for the rule).
type StartError struct {
	Code  int
	Err   error
	Agent bool
	Node  bool
}

func (e *StartError) Error() string { return e.Err.Error() }
func (e *StartError) Unwrap() error { return e.Err }

// DeadlineEnder is a Process that ends normally, on its own, at the
// task's deadline (internal/fleet's fake task whose planned run is its
// job's runtime limit). EndAt tells it the deadline (zero: none) and
// reports whether it ends there; when it does, the agent does not stop it
// at the deadline with Signal "runtime-limit".
type DeadlineEnder interface {
	EndAt(deadline time.Time) bool
}
