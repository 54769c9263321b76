package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/gpu"
)

// A second agent started on the data directory of a running one is
// refused before it touches anything there: it does not take the
// running agent's caps for a dead agent's, restoring the GPUs' own
// limits under a capped task and forgetting what to restore.
func TestRefusedSecondAgentLeavesTheCapsAlone(t *testing.T) {
	srv := newFakeServer()
	a := startAgent(t, srv) // two H100s, 700 W
	task := sh("j-cap", 0, `exec sleep 30`, nil)
	task.GPUs, task.PowerCapW = []int{1}, 300
	srv.assign(task)
	srv.waitStatus(t, "j-cap", 0, 1, running)
	settled(a)
	if lim := limitOf(a, 1); lim != 300 {
		t.Fatalf("GPU 1 limit %d W while capped, want 300", lim)
	}
	_, err := New(Config{Name: "n1", DataDir: a.cfg.DataDir, Devices: a.cfg.Devices, CPUs: 1, MemoryGiB: 1}, newFakeServer())
	if err == nil || !strings.Contains(err.Error(), "in use by another agent") {
		t.Fatalf("a second agent on the directory: %v; want it refused", err)
	}
	if lim := limitOf(a, 1); lim != 300 {
		t.Errorf("GPU 1 limit %d W after a second agent was refused, want the running task's 300 W cap", lim)
	}
	if got := recordedCaps(t, a); got[1] != 700 {
		t.Errorf("caps.json %v after a second agent was refused, want 700 W still to restore for GPU 1", got)
	}
}

// flakyLimits fails, while failing is set, every power limit it is asked
// to set to watts (a GPU that refuses its own limit back: the driver
// busy, the GPU resetting).
type flakyLimits struct {
	gpu.Devices
	watts   int
	failing atomic.Bool
}

func (f *flakyLimits) SetPowerLimit(index, watts int) error {
	if watts == f.watts && f.failing.Load() {
		return fmt.Errorf("gpu: set power limit of GPU %d to %d W: %w", index, watts, gpu.ErrPowerLimit)
	}
	return f.Devices.SetPowerLimit(index, watts)
}

// A GPU that refuses its own limit back when its task's cap ends stays
// recorded in caps.json, so that a crash of the agent does not leave the
// cap to be taken for the GPU's own limit, and the agent puts the limit
// back once the GPU takes it.
func TestFailedUncapIsKeptAndRetried(t *testing.T) {
	srv := newFakeServer()
	var flaky *flakyLimits
	a := startAgent(t, srv, func(c *Config) { // two H100s, 700 W
		flaky = &flakyLimits{Devices: c.Devices, watts: 700}
		c.Devices = flaky
	})
	stop := filepath.Join(t.TempDir(), "stop")
	task := sh("j-cap", 0, `while [ ! -e "$STOP" ]; do sleep 0.02; done`, map[string]string{"STOP": stop})
	task.GPUs, task.PowerCapW = []int{1}, 300
	srv.assign(task)
	srv.waitStatus(t, "j-cap", 0, 1, running)
	flaky.failing.Store(true)
	touch(t, stop)
	srv.waitStatus(t, "j-cap", 0, 1, ended)
	settled(a)
	if lim := limitOf(a, 1); lim != 300 {
		t.Fatalf("GPU 1 limit %d W, want the 300 W cap it could not be taken back from", lim)
	}
	if got := recordedCaps(t, a); got[1] != 700 {
		t.Errorf("caps.json %v while GPU 1 is still capped, want 700 W to restore", got)
	}
	flaky.failing.Store(false)
	eventually(t, 5*time.Second, func() bool { return limitOf(a, 1) == 700 },
		"GPU 1 back at 700 W once it takes its limit again (it is at %d W)", limitOf(a, 1))
	eventually(t, 5*time.Second, func() bool { settled(a); return recordedCaps(t, a) == nil },
		"caps.json gone once no GPU is capped: %v", recordedCaps(t, a))
}

// A GPU's own limit that caps.json could not record when its task capped
// it (a full disk; here a directory where the file's temporary copy
// goes) is recorded once the file can be written again, without waiting
// for another cap to change: until then a crash of the agent would leave
// the cap taken for the GPU's own limit by the next agent.
func TestUnrecordedCapIsRecordedLater(t *testing.T) {
	srv := newFakeServer()
	a := startAgent(t, srv) // two H100s, 700 W
	block := filepath.Join(a.cfg.DataDir, capsFile+tmpSuffix)
	if err := os.Mkdir(block, 0o700); err != nil {
		t.Fatal(err)
	}
	task := sh("j-cap", 0, `exec sleep 30`, nil)
	task.GPUs, task.PowerCapW = []int{1}, 300
	srv.assign(task)
	srv.waitStatus(t, "j-cap", 0, 1, running)
	settled(a)
	if lim := limitOf(a, 1); lim != 300 {
		t.Fatalf("GPU 1 limit %d W, want the task's 300 W cap", lim)
	}
	if got := recordedCaps(t, a); got != nil {
		t.Fatalf("caps.json %v written through a directory in the way", got)
	}
	if err := os.Remove(block); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() bool { settled(a); return recordedCaps(t, a)[1] == 700 },
		"caps.json to record GPU 1's own 700 W once it can be written: %v", recordedCaps(t, a))
}

// An agent started after a crash of the previous one kills the tasks
// the dead one left before it puts back the GPUs' own limits: a leftover
// task never runs uncapped, drawing power the scheduler no longer counts
// for it, while it is being killed.
func TestLeftoversKilledBeforeTheirCapIsUndone(t *testing.T) {
	srv := newFakeServer()
	dir := t.TempDir()
	a := startAgent(t, srv, func(c *Config) { c.DataDir = dir }) // two H100s, 700 W
	task := sh("j-cap", 0, `exec sleep 30`, nil)
	task.GPUs, task.PowerCapW = []int{1}, 300
	srv.assign(task)
	srv.waitStatus(t, "j-cap", 0, 1, running)
	// The agent dies here (holding its lock to the test's end keeps it
	// from acting as a dead agent would: as the next one kills its task,
	// and after, when its heartbeat would find GPU 1 above the cap and
	// set the cap again); another starts on its directory.
	a.lock.Close()
	limitAtKill := -1
	beforeLeftoverKill = func(int) { limitAtKill = limitOf(a, 1) }
	defer func() { beforeLeftoverKill = nil }()
	a.mu.Lock()
	defer a.mu.Unlock()
	b, err := New(Config{Name: "n1", DataDir: dir, Devices: a.cfg.Devices, CPUs: 1, MemoryGiB: 1}, newFakeServer())
	if err != nil {
		t.Fatal(err)
	}
	defer b.ln.Close()
	if limitAtKill != 300 {
		t.Errorf("GPU 1 limit %d W as the dead agent's capped task was killed, want its 300 W cap still", limitAtKill)
	}
	if lim := limitOf(a, 1); lim != 700 {
		t.Errorf("GPU 1 limit %d W once the leftovers are gone, want its own 700 W", lim)
	}
}

// A GPU that refuses its task's lowered cap for a while (its driver
// busy, the GPU resetting) kept the higher limit for the task's whole
// life: the agent tried the cap once, so the server held the starts on
// that power until the task ended. The agent now tries again at every
// heartbeat, and reports the cap once set; the task's error says the
// refusal once.
func TestRefusedCapIsRetried(t *testing.T) {
	srv := newFakeServer()
	var flaky *flakyLimits
	a := startAgent(t, srv, func(c *Config) { // two H100s, 700 W
		flaky = &flakyLimits{Devices: c.Devices, watts: 300}
		c.Devices = flaky
	})
	task := sh("j-cap", 0, `exec sleep 30`, nil)
	task.GPUs, task.PowerCapW = []int{1}, 500
	srv.assign(task)
	srv.waitStatus(t, "j-cap", 0, 1, running)
	flaky.failing.Store(true)
	task.PowerCapW = 300
	srv.assign(task)
	st := srv.waitStatus(t, "j-cap", 0, 1, func(st api.TaskStatus) bool { return st.Error != "" })
	if st.PowerCapW == nil || *st.PowerCapW != 500 || limitOf(a, 1) != 500 {
		t.Fatalf("status %+v, GPU 1 at %d W; want the lower cap refused, the GPU at the 500 W it had", st, limitOf(a, 1))
	}
	n := len(srv.heartbeats())
	eventually(t, 5*time.Second, func() bool { return len(srv.heartbeats()) >= n+3 }, "three more heartbeats")
	flaky.failing.Store(false)
	eventually(t, 5*time.Second, func() bool {
		st := srv.waitStatus(t, "j-cap", 0, 1, running)
		return st.PowerCapW != nil && *st.PowerCapW == 300
	}, "the cap reported set once the GPU takes it")
	if lim := limitOf(a, 1); lim != 300 {
		t.Errorf("GPU 1 at %d W once the cap was retried, want 300 W", lim)
	}
	if st := srv.waitStatus(t, "j-cap", 0, 1, running); strings.Count(st.Error, "power cap") != 1 {
		t.Errorf("task error %q; want the refusal said once, not at every retry", st.Error)
	}
}

// A task whose cap a GPU refuses at its start (a cap outside the GPU's
// range, an NVML error) is not started: the scheduler counted it at
// that cap, and uncapped it would draw more, taking its site over its
// envelope for as long as it ran. It fails to start, its error saying
// why, and its GPUs keep the limit they had.
func TestRefusedStartCapFailsTheStart(t *testing.T) {
	srv := newFakeServer()
	var flaky *flakyLimits
	a := startAgent(t, srv, func(c *Config) { // two H100s, 700 W
		flaky = &flakyLimits{Devices: c.Devices, watts: 300}
		flaky.failing.Store(true)
		c.Devices = flaky
	})
	marker := filepath.Join(t.TempDir(), "ran")
	task := sh("j-refused", 0, `touch "$MARKER"; exec sleep 30`, map[string]string{"MARKER": marker})
	task.GPUs, task.PowerCapW = []int{1}, 300
	srv.assign(task)
	st := srv.waitStatus(t, "j-refused", 0, 1, ended)
	if st.State != api.ReplicaFailed || deref(st.ExitCode) != 126 || !strings.Contains(st.Error, "300 W") || !strings.Contains(st.Error, "not started") || !st.CapRefused {
		t.Fatalf("status %+v; want it failed to start (126), its error naming the refused 300 W cap, cap_refused set", st)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the task ran although its GPU refused its cap")
	}
	settled(a)
	if lim := limitOf(a, 1); lim != 700 {
		t.Errorf("GPU 1 at %d W, want its own 700 W", lim)
	}
	if got := recordedCaps(t, a); got != nil {
		t.Errorf("caps.json %v once the start failed, want none", got)
	}
}

// A GPU reset (or another tool) that puts a capped task's GPU back to
// its own, higher limit goes unseen by the limits the agent set: the
// agent reads the GPUs' limits at every heartbeat, and one found above
// the cap its tasks call for is set to it again, the task's error
// saying so; while the GPU refuses it, the task reports the limit found,
// which the server counts it at.
func TestResetLimitFoundAndCappedAgain(t *testing.T) {
	srv := newFakeServer()
	var flaky *flakyLimits
	a := startAgent(t, srv, func(c *Config) { // two H100s, 700 W
		flaky = &flakyLimits{Devices: c.Devices, watts: 300}
		c.Devices = flaky
	})
	fake := flaky.Devices.(*gpu.Fake)
	task := sh("j-reset", 0, `exec sleep 30`, nil)
	task.GPUs, task.PowerCapW = []int{1}, 300
	srv.assign(task)
	srv.waitStatus(t, "j-reset", 0, 1, running)

	flaky.failing.Store(true) // the GPU refuses the cap for now
	fake.ResetLimit(1)
	st := srv.waitStatus(t, "j-reset", 0, 1, func(st api.TaskStatus) bool { return st.PowerCapW != nil && *st.PowerCapW == 700 })
	if !strings.Contains(st.Error, "700 W") {
		t.Errorf("task error %q; want it to say GPU 1 was found at 700 W", st.Error)
	}
	flaky.failing.Store(false)
	srv.waitStatus(t, "j-reset", 0, 1, func(st api.TaskStatus) bool { return st.PowerCapW != nil && *st.PowerCapW == 300 })
	if lim := limitOf(a, 1); lim != 300 {
		t.Errorf("GPU 1 at %d W once the agent set the cap again, want 300 W", lim)
	}
}
