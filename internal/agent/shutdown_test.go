package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// frozenWarning is the start of the warning of a shutdown that stops the
// tasks without the agent's lock, a call holding it.
const frozenWarning = "the agent is to stop while a call"

// A shutdown that finds the agent's lock held for a moment (a heartbeat
// being built, a task being recorded) says nothing of a call holding
// it: the lock is free at once and the shutdown takes it. Only a call
// that holds it longer than a moment is worth a warning, and gets one.
// Before, any holder at the instant of the shutdown (TryLock) made the
// agent warn that a call held its lock, sending the operator after a
// hang that was not there.
func TestShutdownWarnsOfAHeldLockOnlyWhenItIsHeld(t *testing.T) {
	for _, tc := range []struct {
		name string
		hold time.Duration
		warn bool
	}{
		{"a moment", 20 * time.Millisecond, false},
		{"a call that hangs", 600 * time.Millisecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeServer()
			var logs syncBuffer
			ag := startAgent(t, srv, func(c *Config) {
				c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			})
			ag.frozenAfter = 200 * time.Millisecond
			ready := filepath.Join(t.TempDir(), "ready")
			srv.assign(sh("j-run", 0, `echo $$ > "$READY"; exec sleep 30`, map[string]string{"READY": ready}))
			readPID(t, ready)
			srv.waitStatus(t, "j-run", 0, 1, running)

			held := make(chan struct{})
			released := make(chan struct{})
			go func() {
				ag.mu.Lock()
				close(held)
				time.Sleep(tc.hold) // the call holding the lock
				ag.mu.Unlock()
				close(released)
			}()
			<-held
			ag.stopForShutdown()
			<-released
			if got := strings.Contains(logs.String(), frozenWarning); got != tc.warn {
				t.Errorf("lock held %s: warned %v, want %v; log:\n%s", tc.hold, got, tc.warn, logs.String())
			}
		})
	}
}

// blockingHandler holds the first record whose message holds match
// until release is closed (a log destination that blocks), then notes
// that it let it go.
type blockingHandler struct {
	slog.Handler
	match    string
	held     chan struct{} // closed as the record is held
	release  chan struct{}
	returned *atomic.Bool
	once     *sync.Once
}

func (h blockingHandler) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.match) {
		h.once.Do(func() {
			close(h.held)
			<-h.release
			h.returned.Store(true)
		})
	}
	return h.Handler.Handle(ctx, r)
}

func (h blockingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	h.Handler = h.Handler.WithAttrs(as)
	return h
}

func (h blockingHandler) WithGroup(g string) slog.Handler {
	h.Handler = h.Handler.WithGroup(g)
	return h
}

// Run returns only once the stop the shutdown began as its context was
// done (stopForShutdown, in a goroutine of its own) is over: nothing of
// the agent still runs, logs or touches its tasks once Run has returned.
// Before, Run did not wait for it: here it returned while that stop was
// still logging its warning.
func TestRunWaitsForTheShutdownsStop(t *testing.T) {
	h, done := shutdownWhileStopWarns(t, 5*time.Second)
	go func() {
		// The warning's destination blocks a while longer than the rest
		// of the shutdown takes (the task ends at its SIGTERM).
		time.Sleep(500 * time.Millisecond)
		close(h.release)
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	if !h.returned.Load() {
		t.Error("Run returned while the stop its shutdown began was still running")
	}
}

// Run's wait for the shutdown's stop is bounded by the shutdown grace:
// a stop that hangs (here its log's destination) does not keep the
// agent from exiting.
func TestRunWaitsForTheShutdownsStopAtMostTheGrace(t *testing.T) {
	h, done := shutdownWhileStopWarns(t, 300*time.Millisecond)
	defer close(h.release)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return while the shutdown's stop hangs")
	}
}

// shutdownWhileStopWarns runs an agent (the shutdown grace given) with a
// task, then stops it while a call holds its lock: the shutdown's stop
// warns of it, and that warning's destination blocks (h) until
// h.release is closed. done yields Run's error.
func shutdownWhileStopWarns(t *testing.T, grace time.Duration) (h blockingHandler, done <-chan error) {
	t.Helper()
	srv := newFakeServer()
	h = blockingHandler{
		// Not the test's output: the stop may log after the test ended.
		Handler: slog.NewTextHandler(io.Discard, nil),
		match:   frozenWarning, held: make(chan struct{}), release: make(chan struct{}),
		returned: new(atomic.Bool), once: new(sync.Once),
	}
	ag, err := New(Config{Name: "n1", DataDir: t.TempDir(), CPUs: 1, MemoryGiB: 1,
		Heartbeat: 50 * time.Millisecond, ShutdownGrace: grace, Logger: slog.New(h)}, srv)
	if err != nil {
		t.Fatal(err)
	}
	ag.frozenAfter = 50 * time.Millisecond
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	ch := make(chan error, 1)
	go func() { ch <- ag.Run(ctx) }()
	ready := filepath.Join(t.TempDir(), "ready")
	srv.assign(sh("j-run", 0, `echo $$ > "$READY"; exec sleep 30`, map[string]string{"READY": ready}))
	readPID(t, ready)
	srv.waitStatus(t, "j-run", 0, 1, running)

	ag.mu.Lock() // a call that hangs holds it as the agent is told to stop
	cancel()
	<-h.held // the stop signalled the task without the lock, and warns
	ag.mu.Unlock()
	return h, ch
}

// The stops that do not wait for the agent's lock (the disconnect's, a
// runtime limit's) say the agent is stuck in a call only when the lock
// stays held past frozenAfter: a lock held for a moment as the stop
// came (a heartbeat being built) is waited for, without an error. Before,
// any holder at that instant (TryLock) made the agent log at ERROR that
// it was stuck in a call.
func TestFrozenStopsSayStuckOnlyWhenStuck(t *testing.T) {
	const stuck = "the agent is stuck in a call"
	for _, kind := range []string{reasonDisconnect, signalRuntimeLimit} {
		for _, long := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/held long %v", kind, long), func(t *testing.T) {
				srv := newFakeServer()
				var logs syncBuffer
				ag := startAgent(t, srv, func(c *Config) {
					c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
				})
				ag.frozenAfter = 500 * time.Millisecond
				dir := t.TempDir()
				ready, termed := filepath.Join(dir, "ready"), filepath.Join(dir, "termed")
				task := sh("j-run", 0, `trap 'echo > "$TERMED"; exit 0' TERM; echo $$ > "$READY"; while :; do sleep 0.02; done`,
					map[string]string{"READY": ready, "TERMED": termed})
				if kind == signalRuntimeLimit {
					d := time.Now().Add(2 * time.Second) // after the lock is taken below
					task.Deadline = &d
				}
				srv.assign(task)
				readPID(t, ready)

				ag.mu.Lock() // a call holds it as the stop comes
				if kind == reasonDisconnect {
					go ag.stopDisconnected()
				}
				eventually(t, 5*time.Second, func() bool { _, err := os.Stat(termed); return err == nil },
					"the task to get its SIGTERM without the agent's lock")
				if long {
					time.Sleep(2 * ag.frozenAfter)
				}
				ag.mu.Unlock()
				srv.waitStatus(t, "j-run", 0, 1, ended)
				if got := strings.Contains(logs.String(), stuck); got != long {
					t.Errorf("said %q: %v, want %v; log:\n%s", stuck, got, long, logs.String())
				}
			})
		}
	}
}
