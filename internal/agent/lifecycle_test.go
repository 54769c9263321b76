package agent

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// gpuSample is GPU i in the latest heartbeat.
func gpuSample(srv *fakeServer, i int) api.GPUSample {
	hbs := srv.heartbeats()
	if len(hbs) == 0 || len(hbs[len(hbs)-1].GPUs) <= i {
		return api.GPUSample{}
	}
	return hbs[len(hbs)-1].GPUs[i]
}

func TestFakeGPUsBusyAndCapped(t *testing.T) {
	srv := newFakeServer()
	a := startAgent(t, srv) // two H100s: idle 72 W, busy 560 W, cap 200–700 W
	stop := filepath.Join(t.TempDir(), "stop")
	task := sh("j-gpu", 0, `while [ ! -e "$STOP" ]; do sleep 0.02; done`, map[string]string{"STOP": stop})
	task.GPUs, task.PowerCapW = []int{1}, 300
	srv.assign(task)
	srv.waitStatus(t, "j-gpu", 0, 1, running)
	eventually(t, 2*time.Second, func() bool { return gpuSample(srv, 1).PowerW == 300 }, "GPU 1 busy under its 300 W cap: %+v", gpuSample(srv, 1))
	if s := gpuSample(srv, 0); s.PowerW != 72 {
		t.Errorf("GPU 0 = %+v, want idle at 72 W", s)
	}
	if lim := a.cfg.Devices.Info()[1].PowerLimitW; lim != 300 {
		t.Errorf("GPU 1 limit %d W while capped, want 300", lim)
	}

	bad := sh("j-badcap", 0, `exit 0`, nil)
	bad.GPUs, bad.PowerCapW = []int{0}, 50 // below the range: refused, not started
	srv.assign(task, bad)
	st := srv.waitStatus(t, "j-badcap", 0, 1, ended)
	if st.State != api.ReplicaFailed || deref(st.ExitCode) != 126 || !strings.Contains(st.Error, "50 W") {
		t.Errorf("refused cap: %+v, want failed to start with the cap error", st)
	}

	touch(t, stop)
	srv.waitStatus(t, "j-gpu", 0, 1, ended)
	eventually(t, 2*time.Second, func() bool { return gpuSample(srv, 1).PowerW == 72 }, "GPU 1 idle again")
	if lim := a.cfg.Devices.Info()[1].PowerLimitW; lim != 700 {
		t.Errorf("GPU 1 limit %d W after the task, want 700 restored", lim)
	}
}

func TestReregisterWhenServerForgets(t *testing.T) {
	srv := newFakeServer()
	startAgent(t, srv)
	srv.assign(sh("j-keep", 0, `exec sleep 30`, nil))
	srv.waitStatus(t, "j-keep", 0, 1, running)
	srv.set(func(s *fakeServer) { s.gone = true })
	eventually(t, 2*time.Second, func() bool { return len(srv.registrations()) == 2 }, "a second registration")
	reg := srv.registrations()[1]
	if len(reg.Tasks) != 1 || reg.Tasks[0].Job != "j-keep" || reg.Tasks[0].State != api.ReplicaRunning {
		t.Errorf("re-registration lists %+v, want the running task", reg.Tasks)
	}
	if st := srv.waitStatus(t, "j-keep", 0, 1, func(api.TaskStatus) bool { return true }); st.State != api.ReplicaRunning {
		t.Errorf("task %+v after re-registering, want it still running", st)
	}
}

func TestRegisterRetries(t *testing.T) {
	srv := newFakeServer()
	srv.regFails = 3
	startAgent(t, srv)
	eventually(t, 2*time.Second, func() bool { return len(srv.registrations()) == 1 }, "registration after failures")
	eventually(t, 2*time.Second, func() bool { return len(srv.heartbeats()) > 0 }, "a heartbeat")
}

func TestShutdownStopsTasks(t *testing.T) {
	srv := newFakeServer()
	cancel, done := runGPUAgent(t, srv, Config{Name: "n2", ShutdownGrace: 100 * time.Millisecond})
	ready := filepath.Join(t.TempDir(), "ready")
	task := sh("j-long", 0, `trap '' TERM; echo $$ > "$READY"; exec sleep 30`,
		map[string]string{"READY": ready})
	task.GraceSeconds = 3600 // capped at ShutdownGrace
	srv.assign(task)
	pid := readPID(t, ready)
	srv.waitStatus(t, "j-long", 0, 1, running)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Run did not return")
	}
	if !gone(pid) {
		t.Errorf("task process %d still runs after shutdown", pid)
	}
	if last, _ := srv.last("j-long", 0, 1); last.State != api.ReplicaLost || last.Signal != "killed" {
		t.Errorf("last heartbeat reports %+v, want the task lost, killed", last)
	}
}

func TestNewChecksConfig(t *testing.T) {
	srv := newFakeServer()
	for name, cfg := range map[string]Config{
		"no name":     {DataDir: t.TempDir()},
		"no data dir": {Name: "n"},
		"bad listen":  {Name: "n", DataDir: t.TempDir(), Listen: "not an address"},
	} {
		if _, err := New(cfg, srv); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	a, err := New(Config{Name: "n", DataDir: t.TempDir()}, srv) // detects the machine
	if err != nil {
		t.Fatal(err)
	}
	defer a.ln.Close()
	if a.cfg.CPUs <= 0 || a.cfg.MemoryGiB <= 0 || a.Addr() == "" {
		t.Errorf("detected %d CPUs, %d GiB, address %q", a.cfg.CPUs, a.cfg.MemoryGiB, a.Addr())
	}
}

// A state change is reported at once, not at the next interval.
func TestHeartbeatOnChange(t *testing.T) {
	srv := newFakeServer()
	srv.interval = 30
	startAgent(t, srv)
	srv.assign(sh("j-quick", 0, `sleep 0.1`, nil))
	st := srv.waitStatus(t, "j-quick", 0, 1, ended)
	if st.State != api.ReplicaExited {
		t.Errorf("status %+v", st)
	}
	if n := len(srv.heartbeats()); n > 5 {
		t.Errorf("%d heartbeats for two changes", n)
	}
}

// A task that ends while heartbeats fail, and that the server drops
// meanwhile, is still reported once the server is back.
func TestExitNotLost(t *testing.T) {
	srv := newFakeServer()
	a := startAgent(t, srv)
	stop := filepath.Join(t.TempDir(), "stop")
	srv.assign(sh("j-lost", 0, `while [ ! -e "$STOP" ]; do sleep 0.02; done; exit 4`, map[string]string{"STOP": stop}))
	srv.waitStatus(t, "j-lost", 0, 1, running)
	srv.set(func(s *fakeServer) { s.down = true })
	touch(t, stop)
	eventually(t, 2*time.Second, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		tk := a.tasks[taskKey{"j-lost", 0, 1}]
		return tk != nil && tk.state == api.ReplicaExited
	}, "the task to end")
	srv.assign() // the server dropped it meanwhile
	time.Sleep(150 * time.Millisecond)
	srv.set(func(s *fakeServer) { s.down = false })
	st := srv.waitStatus(t, "j-lost", 0, 1, ended)
	if deref(st.ExitCode) != 4 {
		t.Errorf("reported %+v, want exit 4", st)
	}
	eventually(t, 2*time.Second, func() bool {
		hbs := srv.heartbeats()
		return len(hbs[len(hbs)-1].Tasks) == 0
	}, "the task to leave the heartbeats once reported")
}

// A server rebuilt from its store (after a failed commit) keeps the node
// registered, numbers its assignments afresh from a random base, here
// below the agent's version, and never answers the long poll the replaced
// server held: the first heartbeat that sees the other version has the
// poll cut short, and the new assignments run within seconds, not after
// the poll's 30 s wait.
func TestPollFollowsARebuiltServer(t *testing.T) {
	srv := newFakeServer()
	startAgent(t, srv)
	srv.set(func(s *fakeServer) { s.as.Version = 1000 })
	srv.assign(sh("j-before", 0, `exit 0`, nil))
	srv.waitStatus(t, "j-before", 0, 1, ended)
	began := time.Now()
	srv.rebuild(7, sh("j-after", 0, `exit 0`, nil))
	srv.waitStatus(t, "j-after", 0, 1, ended)
	if d := time.Since(began); d > kickGrace+time.Second {
		t.Errorf("the rebuilt server's task ended %s after the rebuild, want within %s", d, kickGrace+time.Second)
	}
}

// A task that ended while heartbeats failed is in the registration the
// agent sends when the server then answers 404, with its exit: the
// server counts lost every replica it believed running there that the
// registration does not carry, and the exit, reported later, would no
// longer count.
func TestRegistrationCarriesUnreportedExits(t *testing.T) {
	srv := newFakeServer()
	a := startAgent(t, srv)
	stop := filepath.Join(t.TempDir(), "stop")
	srv.assign(sh("j-end", 0, `while [ ! -e "$STOP" ]; do sleep 0.02; done; exit 4`, map[string]string{"STOP": stop}))
	srv.waitStatus(t, "j-end", 0, 1, running)
	srv.set(func(s *fakeServer) { s.down = true })
	touch(t, stop)
	eventually(t, 2*time.Second, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		tk := a.tasks[taskKey{"j-end", 0, 1}]
		return tk != nil && tk.state == api.ReplicaExited
	}, "the task to end")
	srv.set(func(s *fakeServer) { s.down, s.gone = false, true })
	eventually(t, 2*time.Second, func() bool { return len(srv.registrations()) == 2 }, "a second registration")
	reg := srv.registrations()[1]
	if len(reg.Tasks) != 1 || reg.Tasks[0].Job != "j-end" || reg.Tasks[0].State != api.ReplicaExited ||
		deref(reg.Tasks[0].ExitCode) != 4 {
		t.Errorf("the registration lists %+v, want j-end exited 4", reg.Tasks)
	}
}

// An agent that died while a task's power cap was set leaves the GPU
// capped: the next agent on its data directory puts back the limit the
// GPU had before the cap, and takes that one, not the cap, as the limit
// to restore after its own tasks.
func TestCapOfADeadAgentUndone(t *testing.T) {
	srv := newFakeServer()
	dir := t.TempDir()
	a := startAgent(t, srv, func(c *Config) { c.DataDir = dir }) // two H100s, 700 W
	task := sh("j-cap", 0, `exec sleep 30`, nil)
	task.GPUs, task.PowerCapW = []int{1}, 300
	srv.assign(task)
	srv.waitStatus(t, "j-cap", 0, 1, running)
	if lim := a.cfg.Devices.Info()[1].PowerLimitW; lim != 300 {
		t.Fatalf("GPU 1 limit %d W while capped, want 300", lim)
	}
	// The agent dies there (it is never told to stop; the kernel drops
	// its lock on the data directory), and another starts on its data
	// directory and GPUs. (Holding its lock to the test's end keeps it
	// from acting, as a dead agent would: as the next one kills its task,
	// and after, when its heartbeat would find GPU 1 above the cap and
	// set the cap again.)
	a.lock.Close()
	a.mu.Lock()
	defer a.mu.Unlock()
	b, err := New(Config{Name: "n1", DataDir: dir, Devices: a.cfg.Devices, CPUs: 1, MemoryGiB: 1}, newFakeServer())
	if err != nil {
		t.Fatal(err)
	}
	defer b.ln.Close()
	if lim := b.cfg.Devices.Info()[1].PowerLimitW; lim != 700 || b.baseLimits[1] != 700 {
		t.Errorf("after the restart GPU 1's limit is %d W, to be restored to %d W; want 700 W for both",
			lim, b.baseLimits[1])
	}
}

// A task the agent stops because the agent itself stops is reported lost,
// whatever its exit code: a training job that saves a checkpoint on
// SIGTERM and exits 0 did not finish, and the server must not count it
// succeeded, but end the attempt as for a node lost (its restart policy).
func TestShutdownReportsTasksLost(t *testing.T) {
	srv := newFakeServer()
	shutDownRunning(t, srv, Config{Name: "n2", ShutdownGrace: 5 * time.Second}, "j-ckpt", "exit 0")
	last, _ := srv.last("j-ckpt", 0, 1)
	if last.State != api.ReplicaLost || last.ExitCode == nil || *last.ExitCode != 0 || !strings.Contains(last.Error, "agent") {
		t.Errorf("last heartbeat reports %+v, want the task lost (exit code 0, the agent's shutdown as its error)", last)
	}
	// and says the agent leaves, so that the server puts nothing new on
	// its node meanwhile
	if hbs := srv.heartbeats(); len(hbs) == 0 || !hbs[len(hbs)-1].Leaving {
		t.Errorf("the last of %d heartbeats does not say the agent is leaving", len(srv.heartbeats()))
	}
}

// While its tasks stop, a shutting-down agent goes on beating and says it
// leaves from the first of those heartbeats: the server drains its node
// at once, instead of placing work there during the grace that the agent,
// its assignments no longer polled, would never start.
func TestShutdownSaysLeavingWhileTasksStop(t *testing.T) {
	srv := newFakeServer()
	shutDownRunning(t, srv, Config{Name: "n2", ShutdownGrace: 5 * time.Second, Heartbeat: 100 * time.Millisecond}, "j-slow", "sleep 1; exit 0")
	hbs := srv.heartbeats()
	during := 0
	for _, hb := range hbs {
		if hb.Leaving && len(hb.Tasks) > 0 && hb.Tasks[0].State == api.ReplicaRunning {
			during++
		}
	}
	if during == 0 {
		t.Errorf("no heartbeat said the agent leaves while its task stopped (%d heartbeats)", len(hbs))
	}
}

// shutDownRunning runs an agent on cfg with one task of job id (grace
// 5 s) that runs onTerm when it gets SIGTERM, and shuts the agent down
// once the task runs.
func shutDownRunning(t *testing.T, srv *fakeServer, cfg Config, id, onTerm string) {
	t.Helper()
	cancel, done := runGPUAgent(t, srv, cfg)
	ready := filepath.Join(t.TempDir(), "ready")
	task := sh(id, 0, `trap '`+onTerm+`' TERM; echo $$ > "$READY"; while :; do sleep 0.1; done`,
		map[string]string{"READY": ready})
	task.GraceSeconds = 5
	srv.assign(task)
	readPID(t, ready)
	srv.waitStatus(t, id, 0, 1, running)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
}

// A second agent on a data directory a running agent holds is refused,
// naming the holder; before, it took the running agent's tasks for a
// dead agent's leftovers and killed them. Once the first has stopped,
// the directory is free.
func TestSecondAgentOnADataDirectoryRefused(t *testing.T) {
	srv := newFakeServer()
	dir := t.TempDir()
	ready := filepath.Join(t.TempDir(), "ready")
	a, err := New(Config{Name: "n1", DataDir: dir, CPUs: 1, MemoryGiB: 1, Heartbeat: 50 * time.Millisecond}, srv)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	srv.assign(sh("j-live", 0, `echo $$ > "$READY"; exec sleep 30`, map[string]string{"READY": ready}))
	pid := readPID(t, ready)
	srv.waitStatus(t, "j-live", 0, 1, running)
	_, err = New(Config{Name: "n1", DataDir: dir, CPUs: 1, MemoryGiB: 1}, newFakeServer())
	if err == nil || !strings.Contains(err.Error(), "in use by another agent") {
		t.Fatalf("a second agent on the directory: %v; want it refused", err)
	}
	if gone(pid) {
		t.Fatalf("the running agent's task (pid %d) was killed by the second agent", pid)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	done <- nil // for the deferred wait
	b, err := New(Config{Name: "n1", DataDir: dir, CPUs: 1, MemoryGiB: 1}, newFakeServer())
	if err != nil {
		t.Fatalf("an agent on the directory once the first stopped: %v", err)
	}
	b.ln.Close()
	b.lock.Close()
}
