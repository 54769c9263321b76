package agent

import (
	"errors"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// timerRuntime is a Runtime whose tasks are timers: "ok" ends after 20
// ms, "limit" ends normally at its deadline (a DeadlineEnder), anything
// else runs until signalled; "bad" cannot start.
type timerRuntime struct{}

func (timerRuntime) Start(spec api.Task) (Process, error) {
	switch spec.Command[0] {
	case "bad":
		return nil, &StartError{Code: 126, Err: errors.New("no such fake")}
	case "ok":
		p := newTimerProc(false)
		time.AfterFunc(20*time.Millisecond, func() { p.end(Exit{Code: 0}) })
		return p, nil
	}
	return newTimerProc(spec.Command[0] == "limit"), nil
}

type timerProc struct {
	untilDeadline bool
	once          sync.Once
	exit          Exit
	done          chan struct{}
}

func newTimerProc(untilDeadline bool) *timerProc {
	return &timerProc{untilDeadline: untilDeadline, done: make(chan struct{})}
}

func (p *timerProc) end(x Exit) { p.once.Do(func() { p.exit = x; close(p.done) }) }
func (p *timerProc) PID() int   { return 0 }
func (p *timerProc) Wait() Exit { <-p.done; return p.exit }
func (p *timerProc) Signal(sig syscall.Signal) error {
	p.end(Exit{Code: 128 + int(sig), Signal: sig.String()})
	return nil
}

func (p *timerProc) EndAt(d time.Time) bool {
	if p.untilDeadline && !d.IsZero() {
		time.AfterFunc(time.Until(d), func() { p.end(Exit{Code: 0}) })
	}
	return p.untilDeadline
}

// An agent with another Runtime needs no data directory, opens no log
// server, registers no address, and runs the protocol as ever: tasks
// start, end, are stopped with signals, fail to start with the
// runtime's exit code; one that ends on its own at its deadline is not
// stopped there; OnTaskChange hears of every change.
func TestOtherRuntime(t *testing.T) {
	srv := newFakeServer()
	var mu sync.Mutex
	var changes []string
	a := startAgent(t, srv, func(c *Config) {
		c.DataDir, c.Runtime = "", timerRuntime{}
		c.OnTaskChange = func(s api.TaskStatus) {
			mu.Lock()
			defer mu.Unlock()
			changes = append(changes, s.Job+" "+s.State)
		}
	})
	if a.Addr() != "" || a.ln != nil {
		t.Errorf("an agent without logs listens on %q", a.Addr())
	}
	task := func(job, cmd string) api.Task {
		return api.Task{Job: job, Replica: 0, Attempt: 1, Command: []string{cmd}, GraceSeconds: 30}
	}
	soon := time.Now().Add(300 * time.Millisecond)
	limit, forever := task("j-limit", "limit"), task("j-cut", "forever")
	limit.Deadline, forever.Deadline = &soon, &soon
	srv.assign(task("j-ok", "ok"), task("j-bad", "bad"), task("j-stop", "forever"), limit, forever)
	if st := srv.waitStatus(t, "j-ok", 0, 1, ended); st.State != api.ReplicaExited || deref(st.ExitCode) != 0 || st.PID != 0 {
		t.Errorf("j-ok: %+v, want exited 0 without a PID", st)
	}
	if st := srv.waitStatus(t, "j-bad", 0, 1, ended); st.State != api.ReplicaFailed || deref(st.ExitCode) != 126 || st.Error != "no such fake" {
		t.Errorf("j-bad: %+v, want failed 126 with the runtime's error", st)
	}
	srv.waitStatus(t, "j-stop", 0, 1, running)
	stop := task("j-stop", "forever")
	stop.Stop = true
	srv.assign(task("j-ok", "ok"), task("j-bad", "bad"), stop, limit, forever)
	if st := srv.waitStatus(t, "j-stop", 0, 1, ended); deref(st.ExitCode) != 143 || st.Signal != "terminated" {
		t.Errorf("j-stop: %+v, want 143 terminated at once (grace 30 s)", st)
	}
	if st := srv.waitStatus(t, "j-limit", 0, 1, ended); deref(st.ExitCode) != 0 || st.Signal != "" {
		t.Errorf("j-limit: %+v, want exit 0 at its deadline, not stopped", st)
	}
	if st := srv.waitStatus(t, "j-cut", 0, 1, ended); deref(st.ExitCode) != 143 || st.Signal != signalRuntimeLimit {
		t.Errorf("j-cut: %+v, want stopped at its deadline", st)
	}
	if regs := srv.registrations(); len(regs) == 0 || regs[0].Address != "" {
		t.Errorf("registrations %+v, want no address", regs)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(changes) != 9 { // 4 starts, 5 ends
		t.Errorf("OnTaskChange heard %q, want 4 starts and 5 ends", changes)
	}
}
