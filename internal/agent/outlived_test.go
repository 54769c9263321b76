package agent

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/gpu"
)

// A task whose processes outlive SIGKILL (a process in uninterruptible
// sleep on its GPU's driver holds its memory; here a process of its
// group held in a frozen cgroup, stuckInDriver) is reported ended after
// the agent's wait, but its GPUs are reported down for as long as one of
// those processes is there: nothing new is placed on a GPU something may
// still hold. Before, the GPUs were free at once.
func TestGPUsOfProcessesOutlivingSIGKILLAreDown(t *testing.T) {
	srv := newFakeServer()
	a := startAgent(t, srv)
	a.rt.(*processes).groupGone = 300 * time.Millisecond
	dir := t.TempDir()
	pidFile, goFile := filepath.Join(dir, "stuck.pid"), filepath.Join(dir, "go")
	// The task's main process ends once its child is stuck.
	task := sh("j", 0, `sleep 1000 & echo $! > `+pidFile+`; while [ ! -e `+goFile+` ]; do sleep 0.01; done`, nil)
	task.GPUs = []int{1}
	srv.assign(task)
	stuck := readPID(t, pidFile)
	thaw := stuckInDriver(t, stuck)
	if err := os.WriteFile(goFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	srv.waitStatus(t, "j", 0, 1, ended)
	downBeat := func() bool {
		hbs := srv.heartbeats()
		d := hbs[len(hbs)-1].GPUsDown
		return len(d) == 1 && d[0].Index == 1 && strings.Contains(d[0].Reason, "outlived SIGKILL")
	}
	eventually(t, 5*time.Second, downBeat, "a heartbeat with GPU 1 down, held by what outlived SIGKILL")
	thaw() // it takes its SIGKILL
	eventually(t, 5*time.Second, func() bool {
		hbs := srv.heartbeats()
		return len(hbs[len(hbs)-1].GPUsDown) == 0
	}, "a heartbeat with GPU 1 up once nothing of the task is left")
}

// The GPUs held by processes that outlived SIGKILL stay down under the
// next agent on the data directory (a restart, an upgrade) while those
// processes are there, and are up once they are gone. Before, the
// record was in memory only: the next agent took the GPUs for free.
func TestOutlivedProcessesKeepTheirGPUsDownAcrossARestart(t *testing.T) {
	srv := newFakeServer()
	dir := t.TempDir()
	run := func() (*Agent, context.CancelFunc, <-chan error) {
		fake, err := gpu.NewFake(2, "H100", "n1")
		if err != nil {
			t.Fatal(err)
		}
		ag, err := New(Config{Name: "n1", DataDir: dir, Devices: fake, FakeGPUs: true, CPUs: 1, MemoryGiB: 1, Heartbeat: 50 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))}, srv)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- ag.Run(ctx) }()
		return ag, cancel, done
	}
	// A process that stands for one stuck in the driver.
	stuck := exec.Command("sleep", "1000")
	if err := stuck.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{})
	go func() { stuck.Wait(); close(waited) }()
	t.Cleanup(func() { stuck.Process.Kill(); <-waited })

	ag, cancel, done := run()
	eventually(t, 5*time.Second, func() bool { return len(srv.registrations()) == 1 }, "the registration")
	ag.mu.Lock()
	ag.noteOutlivedLocked(&task{key: taskKey{Job: "j", Attempt: 1}, spec: api.Task{Job: "j", Attempt: 1, GPUs: []int{1}}}, Exit{Outlived: []int{stuck.Process.Pid}})
	ag.mu.Unlock()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	_, cancel, done = run()
	defer func() { cancel(); <-done }()
	eventually(t, 5*time.Second, func() bool { return len(srv.registrations()) == 2 }, "the second registration")
	if d := srv.registrations()[1].GPUsDown; len(d) != 1 || d[0].Index != 1 || !strings.Contains(d[0].Reason, "outlived SIGKILL") {
		t.Errorf("GPUs down at the restarted agent's registration: %+v; want GPU 1, held by what outlived SIGKILL", d)
	}
	stuck.Process.Kill()
	<-waited
	eventually(t, 5*time.Second, func() bool {
		hbs := srv.heartbeats()
		return len(hbs) > 0 && len(hbs[len(hbs)-1].GPUsDown) == 0
	}, "a heartbeat with GPU 1 up once the process is gone")
	if _, err := os.Stat(filepath.Join(dir, outlivedFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s once no process is left: %v; want it removed", outlivedFile, err)
	}
}
