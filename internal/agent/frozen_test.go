package agent

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/gpu"
)

// hangingLimits hangs every power limit it is asked to set to watts
// until release is closed: a driver call that does not return.
type hangingLimits struct {
	gpu.Devices
	watts   int
	entered chan struct{} // closed once a call hangs
	release chan struct{}
	once    sync.Once
}

func (h *hangingLimits) SetPowerLimit(index, watts int) error {
	if watts == h.watts {
		h.once.Do(func() { close(h.entered) })
		<-h.release
	}
	return h.Devices.SetPowerLimit(index, watts)
}

// An agent frozen by a call that does not return (NVML here; a disk
// alike), holding its lock, sends no heartbeat, and so the server counts
// the node silent; under the server's stop-after-disconnect it still
// stops its tasks in time, as the server counts on to start their next
// attempts elsewhere. Before, the stop waited for the lock the frozen
// call held, and the tasks ran on beside their next attempts.
func TestFrozenAgentStillStopsItsTasks(t *testing.T) {
	srv := newFakeServer()
	srv.stopAfter = 0.5
	hang := &hangingLimits{watts: 333, entered: make(chan struct{}), release: make(chan struct{})}
	startAgent(t, srv, func(c *Config) { hang.Devices = c.Devices; c.Devices = hang })
	released := false
	release := func() {
		if !released {
			released = true
			close(hang.release)
		}
	}
	t.Cleanup(release)
	dir := t.TempDir()
	ready, termed := filepath.Join(dir, "ready"), filepath.Join(dir, "termed")
	a := sh("j-run", 0, `trap 'echo $$ > "$TERMED"; exit 143' TERM; echo $$ > "$READY"; while :; do sleep 0.05; done`,
		map[string]string{"READY": ready, "TERMED": termed})
	srv.assign(a)
	pid := readPID(t, ready)

	b := sh("j-capped", 0, `exec sleep 30`, nil)
	b.GPUs, b.PowerCapW = []int{1}, 333
	srv.assign(a, b)
	<-hang.entered
	frozen := time.Now()
	beats := len(srv.heartbeats())
	if pid2 := readPID(t, termed); pid2 != pid {
		t.Fatalf("SIGTERM reached %d, want the task %d", pid2, pid)
	}
	if d := time.Since(frozen); d > 3*time.Second {
		t.Errorf("the task was stopped %s after the agent froze, want about the 0.5 s stop-after-disconnect", d)
	}
	if n := len(srv.heartbeats()); n > beats+1 { // one may have been under way as it froze
		t.Errorf("the frozen agent sent %d heartbeats, want none: the server must count it silent", n-beats)
	}
	release()
	st := srv.waitStatus(t, "j-run", 0, 1, ended)
	if st.State != api.ReplicaLost || !strings.Contains(st.Error, "stop-after-disconnect") {
		t.Errorf("the task stopped while its agent was frozen reports %+v, want lost, stopped after the disconnect", st)
	}
}

// A task stopping when its agent froze (a call holding the agent's lock
// hangs) still gets its SIGKILL when its grace is over: the server
// counts on the grace bounding a stop. Before, the SIGKILL waited for the
// lock.
func TestFrozenAgentStillKillsAtTheEndOfTheGrace(t *testing.T) {
	srv := newFakeServer()
	hang := &hangingLimits{watts: 333, entered: make(chan struct{}), release: make(chan struct{})}
	startAgent(t, srv, func(c *Config) { hang.Devices = c.Devices; c.Devices = hang })
	released := false
	t.Cleanup(func() {
		if !released {
			close(hang.release)
		}
	})
	ready := filepath.Join(t.TempDir(), "ready")
	a := sh("j-stubborn", 0, `trap '' TERM; echo $$ > "$READY"; while :; do sleep 0.05; done`, map[string]string{"READY": ready})
	srv.assign(a)
	pid := readPID(t, ready)

	a.Stop, a.GraceSeconds = true, 0.5
	b := sh("j-capped", 0, `exec sleep 30`, nil)
	b.GPUs, b.PowerCapW = []int{1}, 333
	srv.assign(a, b) // a's stop (SIGTERM, ignored), then b's cap, which hangs
	<-hang.entered
	eventually(t, 3*time.Second, func() bool { return gone(pid) || !alive(pid) },
		"the stopping task %d to be killed at the end of its 0.5 s grace while its agent is frozen", pid)
	released = true
	close(hang.release)
	if st := srv.waitStatus(t, "j-stubborn", 0, 1, ended); st.Signal != "killed" {
		t.Errorf("the task killed at the end of its grace reports %+v, want killed", st)
	}
}

// A task that reaches its runtime limit while its agent is frozen by a
// call that does not return is stopped at its limit all the same: before,
// the runtime limit's stop waited for the agent's lock, and the task ran
// past its limit for as long as the call hung.
func TestFrozenAgentStillStopsATaskAtItsRuntimeLimit(t *testing.T) {
	srv := newFakeServer()
	hang := &hangingLimits{watts: 333, entered: make(chan struct{}), release: make(chan struct{})}
	startAgent(t, srv, func(c *Config) { hang.Devices = c.Devices; c.Devices = hang })
	released := false
	release := func() {
		if !released {
			released = true
			close(hang.release)
		}
	}
	t.Cleanup(release)
	dir := t.TempDir()
	ready, termed := filepath.Join(dir, "ready"), filepath.Join(dir, "termed")
	a := sh("j-limit", 0, `trap 'echo $$ > "$TERMED"; exit 143' TERM; echo $$ > "$READY"; while :; do sleep 0.05; done`,
		map[string]string{"READY": ready, "TERMED": termed})
	limit := time.Now().Add(time.Second)
	a.Deadline = &limit
	srv.assign(a)
	pid := readPID(t, ready)

	b := sh("j-capped", 0, `exec sleep 30`, nil)
	b.GPUs, b.PowerCapW = []int{1}, 333
	srv.assign(a, b)
	<-hang.entered
	if pid2 := readPID(t, termed); pid2 != pid {
		t.Fatalf("SIGTERM reached %d, want the task %d", pid2, pid)
	}
	if late := time.Since(limit); late > 3*time.Second {
		t.Errorf("the task was stopped %s after its runtime limit while the agent was frozen, want at it", late)
	}
	release()
	if st := srv.waitStatus(t, "j-limit", 0, 1, ended); st.Signal != signalRuntimeLimit {
		t.Errorf("the task stopped at its limit while its agent was frozen reports %+v, want the runtime limit", st)
	}
}

// An agent shut down while it is frozen by a call that does not return
// still stops its tasks: SIGTERM at once, SIGKILL at the end of the
// shutdown's grace, as the disconnect's stop does. Before, the shutdown's
// stop waited for the lock the frozen call held, and the tasks ran on
// for as long as the call hung.
func TestFrozenAgentStillStopsItsTasksOnShutdown(t *testing.T) {
	srv := newFakeServer()
	hang := &hangingLimits{watts: 333, entered: make(chan struct{}), release: make(chan struct{})}
	fake, err := gpu.NewFake(2, "H100", "n1")
	if err != nil {
		t.Fatal(err)
	}
	hang.Devices = fake
	ag, err := New(Config{Name: "n1", DataDir: t.TempDir(), Devices: hang, FakeGPUs: true, CPUs: 1, MemoryGiB: 1,
		Heartbeat: 50 * time.Millisecond, ShutdownGrace: 500 * time.Millisecond}, srv)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	returned := false
	released := false
	release := func() {
		if !released {
			released = true
			close(hang.release)
		}
	}
	t.Cleanup(func() {
		cancel()
		release()
		if !returned {
			<-done
		}
	})
	dir := t.TempDir()
	ready, termed := filepath.Join(dir, "ready"), filepath.Join(dir, "termed")
	a := sh("j-stubborn", 0, `trap 'echo $$ > "$TERMED"' TERM; echo $$ > "$READY"; while :; do sleep 0.05; done`,
		map[string]string{"READY": ready, "TERMED": termed})
	a.GraceSeconds = 3600 // capped at ShutdownGrace
	srv.assign(a)
	pid := readPID(t, ready)
	srv.waitStatus(t, "j-stubborn", 0, 1, running)

	b := sh("j-capped", 0, `exec sleep 30`, nil)
	b.GPUs, b.PowerCapW = []int{1}, 333
	srv.assign(a, b)
	<-hang.entered
	cancel()
	if pid2 := readPID(t, termed); pid2 != pid {
		t.Fatalf("SIGTERM reached %d, want the task %d", pid2, pid)
	}
	eventually(t, 3*time.Second, func() bool { return gone(pid) || !alive(pid) },
		"the task %d to be killed at the end of the 0.5 s shutdown grace while its agent is frozen", pid)
	release()
	select {
	case err := <-done:
		returned = true
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return once the frozen call did")
	}
	if last, _ := srv.last("j-stubborn", 0, 1); last.State != api.ReplicaLost || last.Signal != "killed" ||
		!strings.Contains(last.Error, "shutting down") {
		t.Errorf("last heartbeat reports %+v, want the task lost, killed by the agent's shutdown", last)
	}
}

// A stop issued while the agent was frozen arms the task's SIGKILL;
// once the agent records that stop, its own timer takes the SIGKILL
// over and the task holds one. Before, it held both (the second got
// ESRCH, or reached a process group that took the PID).
func TestFrozenStopLeavesOneKillTimer(t *testing.T) {
	srv := newFakeServer()
	srv.stopAfter = 0.5
	hang := &hangingLimits{watts: 333, entered: make(chan struct{}), release: make(chan struct{})}
	ag := startAgent(t, srv, func(c *Config) {
		hang.Devices, c.Devices, c.ShutdownGrace = c.Devices, hang, 100*time.Millisecond
	})
	released := false
	release := func() {
		if !released {
			released = true
			close(hang.release)
		}
	}
	t.Cleanup(release)
	ready := filepath.Join(t.TempDir(), "ready")
	a := sh("j-stubborn", 0, `trap '' TERM; echo $$ > "$READY"; while :; do sleep 0.05; done`, map[string]string{"READY": ready})
	a.GraceSeconds = 30
	srv.assign(a)
	readPID(t, ready)
	b := sh("j-capped", 0, `exec sleep 30`, nil)
	b.GPUs, b.PowerCapW = []int{1}, 333
	srv.assign(a, b)
	<-hang.entered
	k := keyOf(a)
	eventually(t, 3*time.Second, func() bool {
		ag.liveMu.Lock()
		l := ag.live[k]
		ag.liveMu.Unlock()
		at, _ := l.termed()
		return !at.IsZero()
	}, "the frozen agent's stop-after-disconnect to reach the task")
	release()
	srv.waitStatus(t, "j-stubborn", 0, 1, func(st api.TaskStatus) bool { return st.Stopping })
	ag.mu.Lock()
	tk := ag.tasks[k]
	armed := 0
	if tk.killTimer != nil && tk.killTimer.Stop() {
		armed++
	}
	tk.live.mu.Lock()
	if tk.live.kill != nil && tk.live.kill.Stop() {
		armed++
	}
	tk.live.mu.Unlock()
	ag.mu.Unlock()
	if armed != 1 {
		t.Errorf("the task stopped while its agent was frozen holds %d SIGKILL timers once the agent recorded the stop, want 1", armed)
	}
}

// The SIGKILL of a stop issued while the agent was frozen comes at the
// end of that stop's grace, even when the agent, once it records the
// stop, reads a longer grace (assignments it applied meanwhile): the
// grace the server counts on is the one the stop began with.
func TestFrozenStopKeepsItsKillTime(t *testing.T) {
	srv := newFakeServer()
	ag := startAgent(t, srv, func(c *Config) { c.ShutdownGrace = 100 * time.Millisecond })
	ready := filepath.Join(t.TempDir(), "ready")
	a := sh("j-stubborn", 0, `trap '' TERM; echo $$ > "$READY"; while :; do sleep 0.05; done`, map[string]string{"READY": ready})
	a.GraceSeconds = 0.5
	srv.assign(a)
	pid := readPID(t, ready)
	srv.waitStatus(t, "j-stubborn", 0, 1, running)

	// The disconnect's stop without the agent's lock, as while a call
	// hung; then the agent, its lock back, reads a grace of 30 s and
	// records the stop.
	if n := ag.stopFrozen(reasonDisconnect, maxGrace); n != 1 {
		t.Fatalf("the stop without the lock stopped %d tasks, want 1", n)
	}
	termAt := time.Now()
	ag.mu.Lock()
	tk := ag.tasks[keyOf(a)]
	tk.spec.GraceSeconds = 30
	ag.stopLocked(tk, tk.grace(), reasonDisconnect)
	ag.mu.Unlock()
	eventually(t, 5*time.Second, func() bool { return gone(pid) || !alive(pid) },
		"the task %d to be killed at the end of the 0.5 s grace its stop began with", pid)
	if d := time.Since(termAt); d > 3*time.Second {
		t.Errorf("the task was killed %s after its SIGTERM, want about its 0.5 s grace", d)
	}
}

// A shutdown while the agent is frozen caps the grace of a task already
// stopping (the server's stop, with a long grace) at the shutdown grace,
// as the shutdown with the lock does (stopLocked brings its SIGKILL
// forward). Before, the stop without the lock passed over every task a
// stop had reached: it ran on to the end of its own grace.
func TestFrozenShutdownCapsAStoppingTasksGrace(t *testing.T) {
	srv := newFakeServer()
	ag := startAgent(t, srv, func(c *Config) { c.ShutdownGrace = 300 * time.Millisecond })
	ready := filepath.Join(t.TempDir(), "ready")
	a := sh("j-stubborn", 0, `trap '' TERM; echo $$ > "$READY"; while :; do sleep 0.05; done`, map[string]string{"READY": ready})
	a.GraceSeconds = 3600
	srv.assign(a)
	pid := readPID(t, ready)
	a.Stop = true
	srv.assign(a)
	srv.waitStatus(t, "j-stubborn", 0, 1, func(st api.TaskStatus) bool { return st.Stopping })

	ag.mu.Lock() // a call that hangs holds it
	ag.stopForShutdown()
	killed := false
	for end := time.Now().Add(3 * time.Second); !killed && time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		killed = gone(pid) || !alive(pid)
	}
	ag.mu.Unlock()
	if !killed {
		t.Errorf("the stopping task %d still runs 3 s after a shutdown (grace 0.3 s) while its agent is frozen", pid)
	}
}

// A task whose start a hung call held up (its power cap) is not started
// once the call returns if the agent was told to stop meanwhile: the
// shutdown stopped the tasks without the lock, and one started after
// would run unstopped for as long as the next call hangs. It is
// reported lost, as the tasks the shutdown stopped are. Before, it
// started, and ran until the shutdown got the agent's lock.
func TestFrozenShutdownStartsNothingMore(t *testing.T) {
	srv := newFakeServer()
	hang := &hangingLimits{watts: 333, entered: make(chan struct{}), release: make(chan struct{})}
	fake, err := gpu.NewFake(2, "H100", "n1")
	if err != nil {
		t.Fatal(err)
	}
	hang.Devices = fake
	ag, err := New(Config{Name: "n1", DataDir: t.TempDir(), Devices: hang, FakeGPUs: true, CPUs: 1, MemoryGiB: 1,
		Heartbeat: 50 * time.Millisecond, ShutdownGrace: 500 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))}, srv)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	started := filepath.Join(t.TempDir(), "started")
	b := sh("j-capped", 0, `touch "$STARTED"; exec sleep 30`, map[string]string{"STARTED": started})
	b.GPUs, b.PowerCapW = []int{1}, 333
	srv.assign(b)
	<-hang.entered // b's cap hangs, the agent's lock held
	cancel()
	eventually(t, 3*time.Second, func() bool { return ag.quitting.Load() }, "the shutdown to begin")
	close(hang.release)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return once the frozen call did")
	}
	last, _ := srv.last("j-capped", 0, 1)
	if _, err := os.Stat(started); err == nil || last.PID != 0 || last.StartedAt != nil {
		t.Errorf("the task was started after the agent was told to stop: last heartbeat reports %+v", last)
	}
	if last.State != api.ReplicaLost || !strings.Contains(last.Error, "shutting down") {
		t.Errorf("last heartbeat reports %+v, want the task lost, not started as its agent was shutting down", last)
	}
}
