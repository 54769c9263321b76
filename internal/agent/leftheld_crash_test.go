package agent

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/gpu"
)

// watchedInfo notes, at each reading of the GPUs (NVML, which can hang
// as a driver does, and be killed there), whether the data directory
// still names the crashed agent's task whose processes outlived SIGKILL:
// what the next agent would find if this one died then.
type watchedInfo struct {
	gpu.Devices
	dir, task string
	mu        sync.Mutex
	lost      int // readings while neither file named the task
}

func (w *watchedInfo) Info() []api.GPUInfo {
	if !namesTask(w.dir, w.task) {
		w.mu.Lock()
		w.lost++
		w.mu.Unlock()
	}
	return w.Devices.Info()
}

// namesTask reports whether groups.json or outlived.json in dir names
// task with GPUs.
func namesTask(dir, task string) bool {
	var gs []group
	if _, found, err := readRecord(dir, groupsFile, &gs); found && err == nil &&
		slices.ContainsFunc(gs, func(g group) bool { return g.Task == task && len(g.GPUs) > 0 }) {
		return true
	}
	var recs []outlivedRecord
	b, err := os.ReadFile(filepath.Join(dir, outlivedFile))
	return err == nil && json.Unmarshal(b, &recs) == nil &&
		slices.ContainsFunc(recs, func(r outlivedRecord) bool { return r.Task == task && len(r.GPUs) > 0 })
}

// The next agent forgets a crashed agent's groups (groups.json) only
// once what of them outlived its SIGKILL is recorded (outlived.json):
// it reads the GPUs (NVML) in between, where a hung driver can stall it
// and a supervisor kill it. Before, groups.json was removed first, and
// an agent killed there left neither file: the one after it took the
// GPUs for free while those processes held them.
func TestLeftoversRecordedUntilOutlivedIs(t *testing.T) {
	dir := t.TempDir()
	crashedWithStuck(t, dir)

	var w *watchedInfo
	srv := newFakeServer()
	startAgent(t, srv, func(c *Config) {
		c.DataDir = dir
		w = &watchedInfo{Devices: c.Devices, dir: dir, task: "j/0/1"}
		c.Devices = w
	})
	if reg := nextRegistration(t, srv, 0); len(reg.GPUsDown) != 1 || reg.GPUsDown[0].Index != 1 {
		t.Fatalf("GPUs down at registration: %+v; want GPU 1", reg.GPUsDown)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lost > 0 {
		t.Errorf("%d readings of the GPUs while neither %s nor %s named j/0/1: an agent killed then forgets what holds GPU 1", w.lost, groupsFile, outlivedFile)
	}
	if _, err := os.Stat(filepath.Join(dir, groupsFile)); err == nil {
		t.Errorf("%s still there once the agent started", groupsFile)
	}
}

// An agent killed after it recorded the survivors (outlived.json) but
// before it forgot the crashed agent's groups (groups.json) leaves them
// both ways: the next agent takes the task once, its processes merged.
func TestLoadOutlivedTakesATaskFoundBothWaysOnce(t *testing.T) {
	dir := t.TempDir()
	self := os.Getpid()
	start, err := procStart(self)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal([]outlivedRecord{{Task: "j/0/1", GPUs: []int{1}, Procs: map[int]uint64{self: start}}})
	if err := os.WriteFile(filepath.Join(dir, outlivedFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	a := &Agent{cfg: Config{DataDir: dir}, log: slog.New(slog.DiscardHandler)}
	if !a.loadOutlived([]outlived{{task: "j/0/1", gpus: []int{1}, procs: map[int]uint64{self: start}}}) {
		t.Fatal("loadOutlived: not recorded")
	}
	if len(a.outlived) != 1 || len(a.outlived[0].procs) != 1 {
		t.Errorf("outlived %+v; want j/0/1 once, with its one process", a.outlived)
	}
	var recs []outlivedRecord
	if _, _, err := readRecord(dir, outlivedFile, &recs); err != nil || len(recs) != 1 {
		t.Errorf("%s: %+v (%v); want j/0/1 once", outlivedFile, recs, err)
	}
}

// The processes of an ended task that outlived SIGKILL stay recorded
// for the next agent from the task's end on: its group in groups.json
// until outlived.json holds them. The agent writes outlived.json under
// its lock, which a call that hangs (NVML, as a driver does) can hold
// for long. Before, the group was forgotten as the task's Wait
// returned: an agent killed before it took the lock left them to no one,
// and the next took their GPUs for free.
func TestSurvivorsOfAnEndRecordedUntilOutlivedIs(t *testing.T) {
	srv := newFakeServer()
	a := startAgent(t, srv)
	a.rt.(*processes).groupGone = 300 * time.Millisecond
	tmp := t.TempDir()
	pidFile, goFile := filepath.Join(tmp, "stuck.pid"), filepath.Join(tmp, "go")
	task := sh("j", 0, `sleep 1000 & echo $! > `+pidFile+`; while [ ! -e `+goFile+` ]; do sleep 0.01; done`, nil)
	task.GPUs = []int{1}
	srv.assign(task)
	stuckInDriver(t, readPID(t, pidFile))
	srv.waitStatus(t, "j", 0, 1, running)

	a.mu.Lock() // stuck, as in a call that hangs: the end waits for the lock
	locked := true
	defer func() {
		if locked {
			a.mu.Unlock()
		}
	}()
	if err := os.WriteFile(goFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// The task's Wait returns 300 ms after its main process ended, and
	// up to logDrain later (the stuck process holds its output open).
	for end := time.Now().Add(logDrain + 2*time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if !namesTask(a.cfg.DataDir, "j/0/1") {
			t.Fatalf("neither %s nor %s names j/0/1 while the agent cannot record what of it outlived SIGKILL: an agent killed now loses it", groupsFile, outlivedFile)
		}
	}
	a.mu.Unlock()
	locked = false
	eventually(t, 5*time.Second, func() bool {
		var gs []group
		_, _, err := readRecord(a.cfg.DataDir, groupsFile, &gs)
		return err == nil && len(gs) == 0 && namesTask(a.cfg.DataDir, "j/0/1")
	}, "j/0/1 in %s alone once that is written", outlivedFile)
}
