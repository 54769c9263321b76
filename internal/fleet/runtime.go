package fleet

import (
	"errors"
	"sync"
	"syscall"
	"time"

	"github.com/carnot-dc/carnot/internal/agent"
	"github.com/carnot-dc/carnot/internal/api"
)

// codeCannotRun is the exit code of a fake task that cannot start, as
// of a command a shell cannot run.
const codeCannotRun = 126

// fakeRuntime is the nodes' agent.Runtime: a task only pretends to run,
// for as long as decide says, then exits. A signal ends it at once, as
// it ends a process that does not handle it: SIGTERM with exit code 143
// and Signal "terminated"; the grace is not waited.
type fakeRuntime struct{ def time.Duration }

func (r fakeRuntime) Start(spec api.Task) (agent.Process, error) {
	run := decide(spec, r.def)
	if run.Err != "" {
		return nil, &agent.StartError{Code: codeCannotRun, Err: errors.New(run.Err)}
	}
	t := &fakeTask{run: run, done: make(chan struct{})}
	if !run.Forever && !run.UntilDeadline {
		t.mu.Lock()
		t.endAfterLocked(run.Duration)
		t.mu.Unlock()
	}
	return t, nil
}

// fakeTask is one fake task: a timer. It has no PID and no logs.
type fakeTask struct {
	run  fakeRun
	done chan struct{} // closed when it ended, exit set

	mu    sync.Mutex
	timer *time.Timer // ends the run
	gen   int         // of timer: a timer of an older generation does nothing
	exit  agent.Exit
	ended bool
}

func (t *fakeTask) PID() int { return 0 }

func (t *fakeTask) Signal(sig syscall.Signal) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended {
		return syscall.ESRCH
	}
	t.endLocked(agent.Exit{Code: 128 + int(sig), Signal: sig.String()})
	return nil
}

func (t *fakeTask) Wait() agent.Exit {
	<-t.done
	return t.exit
}

// EndAt makes a task whose run is its job's runtime limit end at the
// deadline, normally; a task without a deadline runs until it is
// stopped. Other tasks are stopped at the deadline by the agent.
func (t *fakeTask) EndAt(deadline time.Time) bool {
	if !t.run.UntilDeadline {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	t.gen++
	if !deadline.IsZero() && !t.ended {
		t.endAfterLocked(time.Until(deadline))
	}
	return true
}

// endAfterLocked ends the run, normally, after d.
func (t *fakeTask) endAfterLocked(d time.Duration) {
	gen := t.gen
	t.timer = time.AfterFunc(max(d, 0), func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.gen == gen && !t.ended {
			t.endLocked(agent.Exit{Code: t.run.ExitCode})
		}
	})
}

func (t *fakeTask) endLocked(x agent.Exit) {
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	t.gen++
	x.At = time.Now().UTC()
	t.exit, t.ended = x, true
	close(t.done)
}
