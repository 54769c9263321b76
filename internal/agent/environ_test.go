package agent

import (
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// blockEnviron makes the reads of process pid's environment block until
// release is called (a process that holds its memory's lock, stuck in a
// driver: a read of /proc/PID/environ then blocks, which no test can
// bring about on demand), and counts them. The others read
// /proc/PID/environ. release and the seam's removal come with the test's
// end, which must have stopped what reads first.
func blockEnviron(t *testing.T, pid int) (reads *atomic.Int64, release func()) {
	t.Helper()
	reads = &atomic.Int64{}
	gate := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	f := func(p int) ([]byte, error) {
		if p == pid {
			reads.Add(1)
			<-gate
		}
		return os.ReadFile("/proc/" + strconv.Itoa(p) + "/environ")
	}
	environRead.Store(&f)
	t.Cleanup(func() { release(); environRead.Store(nil) })
	return reads, release
}

// sleeper is a process that is no task's, killed when the test ends.
func sleeper(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd.Process.Pid
}

// A read of a process's environment that blocks is given up after
// environWait, and the environment is unknown while the read goes on:
// no second read of it is begun (a scan every 10 ms would pile up a
// blocked thread each). Once the read ended, the next reads it anew.
func TestStuckEnvironReadIsBounded(t *testing.T) {
	pid := sleeper(t)
	reads, release := blockEnviron(t, pid)
	began := time.Now()
	if _, err := environ(pid); !errors.Is(err, errEnvironStuck) {
		t.Fatalf("environ of a process whose read blocks: %v; want errEnvironStuck", err)
	}
	if took := time.Since(began); took < environWait || took > environWait+2*time.Second {
		t.Errorf("gave up after %v; want %v", took, environWait)
	}
	if _, err := environ(pid); !errors.Is(err, errEnvironStuck) || reads.Load() != 1 {
		t.Errorf("again while the first read blocks: %v, %d reads begun; want errEnvironStuck, 1", err, reads.Load())
	}
	release()
	eventually(t, 5*time.Second, func() bool {
		env, err := environ(pid)
		return err == nil && len(env) > 0
	}, "the environment read once the blocked read ended")
	if n := reads.Load(); n != 2 {
		t.Errorf("%d reads begun; want 2", n)
	}
}

// A process whose environment cannot be read (the read blocks) does not
// hold an ended task's end: the agent reads every process's environment
// to find the task's marked processes. Before, the read blocked, and
// the task stayed running for as long as that process was stuck.
func TestStuckEnvironDoesNotHoldATaskEnd(t *testing.T) {
	pid := sleeper(t)
	blockEnviron(t, pid)
	srv := newFakeServer()
	var logs syncBuffer
	startAgent(t, srv, noCgroups, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	srv.assign(sh("j", 0, `sleep 0.1`, nil))
	srv.waitStatus(t, "j", 0, 1, ended)
	if !strings.Contains(logs.String(), "cannot read the environment of processes") || !strings.Contains(logs.String(), strconv.Itoa(pid)) {
		t.Errorf("no warning naming process %d; log:\n%s", pid, &logs)
	}
}

// BenchmarkMarkedScan is one scan of every process's environment for a
// mark, as clearing an ended task does every 10 ms while it waits (go
// test -run '^$' -bench MarkedScan ./internal/agent).
func BenchmarkMarkedScan(b *testing.B) {
	for b.Loop() {
		marked(markEnv + "=none")
	}
}
