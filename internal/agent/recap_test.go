package agent

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// limitOf is GPU i's power limit as the fake NVML has it.
func limitOf(a *Agent, i int) int { return a.cfg.Devices.Info()[i].PowerLimitW }

// settled waits for the agent's locked work in progress to end: a recap
// sets the GPUs' limits, then rewrites caps.json, under the agent's lock,
// so a test that saw the new limit reads caps.json only after this.
func settled(a *Agent) {
	a.mu.Lock()
	defer a.mu.Unlock()
}

// recordedCaps is caps.json: the limit to restore of each capped GPU.
func recordedCaps(t *testing.T, a *Agent) map[int]int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(a.cfg.DataDir, capsFile))
	if os.IsNotExist(err) {
		return nil
	}
	var m map[int]int
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// When the server raises a running task's power cap (a recap), the agent
// sets the new limit on the task's GPUs, the task running on; a recap to
// 0 lifts the cap: the GPUs get back the limit they had when the agent
// started, and no cap is left recorded for a successor to undo.
func TestRecapSetsTheNewLimit(t *testing.T) {
	srv := newFakeServer()
	a := startAgent(t, srv) // two H100s at 700 W, cap range 200–700 W
	task := sh("j-recap", 0, `exec sleep 30`, nil)
	task.GPUs, task.PowerCapW = []int{1}, 300
	srv.assign(task)
	pid := srv.waitStatus(t, "j-recap", 0, 1, running).PID
	if lim := limitOf(a, 1); lim != 300 {
		t.Fatalf("GPU 1 limit %d W, want the task's 300 W cap", lim)
	}

	task.PowerCapW = 500
	srv.assign(task)
	eventually(t, 2*time.Second, func() bool { return limitOf(a, 1) == 500 }, "GPU 1 at the raised 500 W cap (it is at %d W)", limitOf(a, 1))
	eventually(t, 2*time.Second, func() bool { return gpuSample(srv, 1).PowerW == 500 }, "GPU 1 busy under its 500 W cap: %+v", gpuSample(srv, 1))
	settled(a)
	if got := recordedCaps(t, a); got[1] != 700 {
		t.Errorf("caps.json %v while GPU 1 is capped, want 700 W to restore", got)
	}
	if limitOf(a, 0) != 700 {
		t.Errorf("GPU 0, not the task's, has limit %d W, want 700", limitOf(a, 0))
	}

	task.PowerCapW = 0
	srv.assign(task)
	eventually(t, 2*time.Second, func() bool { return limitOf(a, 1) == 700 }, "GPU 1 back at 700 W once the cap is lifted (it is at %d W)", limitOf(a, 1))
	eventually(t, 2*time.Second, func() bool { return gpuSample(srv, 1).PowerW == 560 }, "GPU 1 busy uncapped: %+v", gpuSample(srv, 1))
	settled(a)
	if got := recordedCaps(t, a); got != nil {
		t.Errorf("caps.json %v once no GPU is capped, want none", got)
	}
	st, _ := srv.last("j-recap", 0, 1)
	if st.State != api.ReplicaRunning || st.PID != pid || st.Error != "" {
		t.Errorf("the task after its recaps: %+v, want it still running as pid %d, no error", st, pid)
	}
}

// A recap the GPU refuses is reported in the task's error, as a cap
// refused at the start is; the task runs on.
func TestRecapRefusedIsReported(t *testing.T) {
	srv := newFakeServer()
	a := startAgent(t, srv)
	task := sh("j-refused", 0, `exec sleep 30`, nil)
	task.GPUs, task.PowerCapW = []int{0}, 300
	srv.assign(task)
	srv.waitStatus(t, "j-refused", 0, 1, running)
	task.PowerCapW = 800 // above the H100's 700 W
	srv.assign(task)
	st := srv.waitStatus(t, "j-refused", 0, 1, func(st api.TaskStatus) bool { return st.Error != "" })
	if st.State != api.ReplicaRunning || !strings.Contains(st.Error, "power cap") || !strings.Contains(st.Error, "800 W") {
		t.Errorf("the task after a refused recap: %+v, want it running, its error naming the 800 W cap", st)
	}
	if lim := limitOf(a, 0); lim != 300 {
		t.Errorf("GPU 0 limit %d W after the refused recap, want the 300 W it had", lim)
	}
}

// Lifting one task's cap leaves a GPU another capped task holds at its
// cap (two tasks on one GPU: an orphan still stopping beside the task
// that replaces it).
func TestRecapLiftKeepsAnotherTasksCap(t *testing.T) {
	srv := newFakeServer()
	a := startAgent(t, srv)
	x := sh("j-x", 0, `exec sleep 30`, nil)
	x.GPUs, x.PowerCapW = []int{0, 1}, 300
	y := sh("j-y", 0, `exec sleep 30`, nil)
	y.GPUs, y.PowerCapW = []int{1}, 300
	srv.assign(x, y)
	srv.waitStatus(t, "j-x", 0, 1, running)
	srv.waitStatus(t, "j-y", 0, 1, running)
	x.PowerCapW = 0
	srv.assign(x, y)
	eventually(t, 2*time.Second, func() bool { return limitOf(a, 0) == 700 }, "GPU 0, x's alone, back at 700 W (it is at %d W)", limitOf(a, 0))
	if lim := limitOf(a, 1); lim != 300 {
		t.Errorf("GPU 1, which capped y holds too, has limit %d W after x's cap was lifted; want y's 300 W", lim)
	}
	settled(a)
	if got := recordedCaps(t, a); len(got) != 1 || got[1] != 700 {
		t.Errorf("caps.json %v, want GPU 1 alone (y's), 700 W to restore", got)
	}
}

// A recap may lower a running task's cap again, taking back power lent
// to it by an earlier raise: the agent sets the lower limit on the
// task's GPUs, which draw less, the GPUs' own limit staying recorded in
// caps.json. A task whose cap was lifted gets one again, recorded in
// caps.json as a cap set at the start is.
func TestRecapLowersTheLimit(t *testing.T) {
	srv := newFakeServer()
	a := startAgent(t, srv) // two H100s at 700 W, cap range 200–700 W
	task := sh("j-lower", 0, `exec sleep 30`, nil)
	task.GPUs, task.PowerCapW = []int{1}, 300
	srv.assign(task)
	pid := srv.waitStatus(t, "j-lower", 0, 1, running).PID
	task.PowerCapW = 500
	srv.assign(task)
	eventually(t, 2*time.Second, func() bool { return limitOf(a, 1) == 500 }, "GPU 1 at the raised 500 W cap (it is at %d W)", limitOf(a, 1))

	task.PowerCapW = 400
	srv.assign(task)
	eventually(t, 2*time.Second, func() bool { return limitOf(a, 1) == 400 }, "GPU 1 at the lowered 400 W cap (it is at %d W)", limitOf(a, 1))
	eventually(t, 2*time.Second, func() bool { return gpuSample(srv, 1).PowerW == 400 }, "GPU 1 busy under its 400 W cap: %+v", gpuSample(srv, 1))
	settled(a)
	if got := recordedCaps(t, a); len(got) != 1 || got[1] != 700 {
		t.Errorf("caps.json %v after the cap was lowered, want GPU 1's 700 W to restore", got)
	}

	task.PowerCapW = 0
	srv.assign(task)
	eventually(t, 2*time.Second, func() bool { return limitOf(a, 1) == 700 }, "GPU 1 back at 700 W once the cap is lifted (it is at %d W)", limitOf(a, 1))
	task.PowerCapW = 300
	srv.assign(task)
	eventually(t, 2*time.Second, func() bool { return limitOf(a, 1) == 300 }, "GPU 1 at 300 W, lowered from its own limit (it is at %d W)", limitOf(a, 1))
	eventually(t, 2*time.Second, func() bool { return gpuSample(srv, 1).PowerW == 300 }, "GPU 1 busy under its 300 W cap: %+v", gpuSample(srv, 1))
	settled(a)
	if got := recordedCaps(t, a); len(got) != 1 || got[1] != 700 {
		t.Errorf("caps.json %v once the lifted cap was lowered again, want GPU 1's 700 W to restore", got)
	}
	st, _ := srv.last("j-lower", 0, 1)
	if st.State != api.ReplicaRunning || st.PID != pid || st.Error != "" {
		t.Errorf("the task after its recaps: %+v, want it still running as pid %d, no error", st, pid)
	}
}

// A lower cap the GPU refuses leaves it at the higher limit, drawing
// power the scheduler may have given another job: the agent reports it
// in the task's error and logs it as an error.
func TestRecapLoweringRefusedIsAnError(t *testing.T) {
	srv := newFakeServer()
	var logs syncBuffer
	a := startAgent(t, srv, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	task := sh("j-keep", 0, `exec sleep 30`, nil)
	task.GPUs, task.PowerCapW = []int{0}, 300
	srv.assign(task)
	srv.waitStatus(t, "j-keep", 0, 1, running)
	task.PowerCapW = 600
	srv.assign(task)
	eventually(t, 2*time.Second, func() bool { return limitOf(a, 0) == 600 }, "GPU 0 at the raised 600 W cap (it is at %d W)", limitOf(a, 0))
	task.PowerCapW = 150 // below the H100's 200 W
	srv.assign(task)
	st := srv.waitStatus(t, "j-keep", 0, 1, func(st api.TaskStatus) bool { return st.Error != "" })
	if st.State != api.ReplicaRunning || !strings.Contains(st.Error, "150 W") {
		t.Errorf("the task after a refused lowering: %+v, want it running, its error naming the 150 W cap", st)
	}
	if lim := limitOf(a, 0); lim != 600 {
		t.Errorf("GPU 0 limit %d W after the refused lowering, want the 600 W it had", lim)
	}
	if got := logs.String(); !strings.Contains(got, "level=ERROR") || !strings.Contains(got, "above its task's lowered cap") {
		t.Errorf("agent logs %q, want an error saying the GPU stays above its task's lowered cap", got)
	}
}

// The agent reports the limit in force on a running task's GPUs
// (power_cap_w) and sends it at once when a recap changes it, not at
// its next heartbeat: the server holds a start that counts on a lowering
// until it hears. A refused lowering keeps reporting the higher limit.
func TestRecapReportsTheLimitAtOnce(t *testing.T) {
	srv := newFakeServer()
	srv.interval = 30 // no heartbeat on the clock during the test
	startAgent(t, srv)
	task := sh("j-report", 0, `exec sleep 30`, nil)
	task.GPUs, task.PowerCapW = []int{1}, 300
	srv.assign(task)
	capIs := func(w int) func(api.TaskStatus) bool {
		return func(st api.TaskStatus) bool {
			return st.State == api.ReplicaRunning && st.PowerCapW != nil && *st.PowerCapW == w
		}
	}
	srv.waitStatus(t, "j-report", 0, 1, capIs(300))
	for _, w := range []int{500, 400, 0, 250} {
		task.PowerCapW = w
		srv.assign(task)
		srv.waitStatus(t, "j-report", 0, 1, capIs(w))
	}
	task.PowerCapW = 150 // below the H100's 200 W: refused
	srv.assign(task)
	st := srv.waitStatus(t, "j-report", 0, 1, func(st api.TaskStatus) bool { return st.Error != "" })
	if st.PowerCapW == nil || *st.PowerCapW != 250 {
		t.Errorf("after a refused lowering the task reports %+v, want the 250 W still in force", st)
	}
}

// A capped task that ends (or cannot start) on a GPU an uncapped task
// shares gives the GPU back its own limit: only another capped task
// keeps a cap on it. Before, the limit stayed at the cap for good, and
// caps.json forgot it.
func TestCapRestoredWhenAnUncappedTaskSharesTheGPU(t *testing.T) {
	for _, name := range []string{"ends", "cannot start"} {
		t.Run(name, func(t *testing.T) {
			srv := newFakeServer()
			a := startAgent(t, srv) // two H100s at 700 W
			stop := filepath.Join(t.TempDir(), "stop")
			plain := sh("j-plain", 0, `while [ ! -e "$STOP" ]; do sleep 0.02; done`, map[string]string{"STOP": stop})
			plain.GPUs = []int{0}
			capped := sh("j-capped", 0, `exit 0`, nil)
			if name == "cannot start" {
				capped.Command = []string{"carnot-no-such-command-here"}
			}
			capped.GPUs, capped.PowerCapW = []int{0}, 300
			srv.assign(plain)
			srv.waitStatus(t, "j-plain", 0, 1, running)
			srv.assign(plain, capped)
			srv.waitStatus(t, "j-capped", 0, 1, ended)
			if lim := limitOf(a, 0); lim != 700 {
				t.Errorf("GPU 0 limit %d W once the capped task is over and only the uncapped one runs; want 700 W", lim)
			}
			touch(t, stop)
			srv.waitStatus(t, "j-plain", 0, 1, ended)
			if lim := limitOf(a, 0); lim != 700 {
				t.Errorf("GPU 0 limit %d W after both ended; want 700 W", lim)
			}
		})
	}
}

// Every heartbeat says which assignments the agent had applied when it
// read its tasks' power limits (api.Heartbeat.AssignmentsVersion): the
// limit it reports is the cap of that version, so that the server can
// tell a report built before a raise from one built after the lowering
// that takes it back.
func TestHeartbeatSaysWhichCapsItReports(t *testing.T) {
	srv := newFakeServer()
	startAgent(t, srv)
	task := sh("j-version", 0, `exec sleep 30`, nil)
	task.GPUs, task.PowerCapW = []int{1}, 300
	srv.assign(task) // version 1
	srv.waitStatus(t, "j-version", 0, 1, running)
	task.PowerCapW = 500
	srv.assign(task) // version 2
	srv.waitStatus(t, "j-version", 0, 1, func(st api.TaskStatus) bool { return st.PowerCapW != nil && *st.PowerCapW == 500 })
	capOf := map[int64]int{1: 300, 2: 500}
	for _, hb := range srv.heartbeats() {
		for _, st := range hb.Tasks {
			if st.PowerCapW == nil {
				continue
			}
			if hb.AssignmentsVersion == nil || capOf[*hb.AssignmentsVersion] != *st.PowerCapW {
				t.Fatalf("a heartbeat reports the task's limit at %d W with assignments version %v; want the version whose cap that is", *st.PowerCapW, hb.AssignmentsVersion)
			}
		}
	}
}
