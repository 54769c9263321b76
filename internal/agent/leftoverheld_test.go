package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A crashed agent's task whose processes outlive the next agent's
// SIGKILL (here a process of its group held in a frozen cgroup,
// stuckInDriver, as in TestGPUsOfProcessesOutlivingSIGKILLAreDown)
// keeps its GPUs down under that agent, as an ended task's do, for as
// long as those processes are there, recorded in outlived.json for the
// agent after. Before, groups.json did not name the task's GPUs: the
// survivors were only logged, and the GPUs taken for free. A groups.json
// of an older agent, without GPUs, is read as before: the survivors are
// logged, their GPUs unknown.
func TestLeftoversOutlivingSIGKILLKeepTheirGPUsDown(t *testing.T) {
	for _, tc := range []struct {
		name  string
		older bool // groups.json as an older agent wrote it, without GPUs
	}{{"GPUs recorded", false}, {"older record without GPUs", true}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			// The agent that crashes: its task runs, recorded in
			// groups.json, and nothing clears it.
			leader, thaw := crashedWithStuck(t, dir)
			if tc.older {
				stripGPUs(t, dir)
			}

			srv := newFakeServer()
			startAgent(t, srv, func(c *Config) { c.DataDir = dir })
			reg := nextRegistration(t, srv, 0)
			if !gone(leader.PID()) && alive(leader.PID()) {
				t.Errorf("the crashed agent's task %d still runs", leader.PID())
			}
			if tc.older {
				if len(reg.GPUsDown) != 0 {
					t.Errorf("GPUs down at registration after an older groups.json: %+v; want none (unknown)", reg.GPUsDown)
				}
				if _, err := os.Stat(filepath.Join(dir, outlivedFile)); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s after an older groups.json: %v; want none", outlivedFile, err)
				}
				return
			}
			if d := reg.GPUsDown; len(d) != 1 || d[0].Index != 1 || !strings.Contains(d[0].Reason, "outlived SIGKILL") || !strings.Contains(d[0].Reason, "j/0/1") {
				t.Errorf("GPUs down at registration: %+v; want GPU 1, held by what of j/0/1 outlived SIGKILL", d)
			}
			var recs []outlivedRecord
			if b, err := os.ReadFile(filepath.Join(dir, outlivedFile)); err != nil || json.Unmarshal(b, &recs) != nil ||
				len(recs) != 1 || recs[0].Task != "j/0/1" || len(recs[0].GPUs) != 1 || recs[0].GPUs[0] != 1 {
				t.Errorf("%s: %+v (%v); want j/0/1 on GPU 1 for the next agent", outlivedFile, recs, err)
			}
			thaw() // it takes its SIGKILL
			eventually(t, 5*time.Second, func() bool {
				hbs := srv.heartbeats()
				return len(hbs) > 0 && len(hbs[len(hbs)-1].GPUsDown) == 0
			}, "a heartbeat with GPU 1 up once nothing of the task is left")
			if _, err := os.Stat(filepath.Join(dir, outlivedFile)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s once no process is left: %v; want it removed", outlivedFile, err)
			}
		})
	}
}

// crashedWithStuck starts, as an agent on dir that then crashes (nothing
// clears its task), a task on GPU 1 whose main process runs on and whose
// child, in its group, is stuck (stuckInDriver): the next agent's SIGKILL
// ends the one, not the other until thaw.
func crashedWithStuck(t *testing.T, dir string) (leader *process, thaw func()) {
	t.Helper()
	pidFile := filepath.Join(t.TempDir(), "stuck.pid")
	r := newProcesses(dir, 0, slog.New(slog.DiscardHandler))
	task := sh("j", 0, `sleep 1000 & echo $! > `+pidFile+`; exec sleep 1000`, nil)
	task.GPUs = []int{1}
	p, err := r.Start(task)
	if err != nil {
		t.Fatal(err)
	}
	leader = p.(*process)
	t.Cleanup(func() { _ = leader.cmd.Process.Kill(); _ = leader.cmd.Wait() })
	return leader, stuckInDriver(t, readPID(t, pidFile))
}

// leftTheTask waits until process pid, which leaves its task (setsid
// env -i sleep), runs sleep in a process group of its own, without the
// task's mark. Until then the next agent's kill of the task's group, or
// of its marked processes, takes it too, and the zombie it keeps goes
// with it. Its environment read as it execs is empty: that it no longer
// carries the mark (unmarked) says too early that it left.
func leftTheTask(t *testing.T, pid int, mark string) {
	t.Helper()
	eventually(t, 3*time.Second, func() bool {
		f, err := procStat(pid)
		comm, cerr := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		env, eerr := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
		return err == nil && cerr == nil && eerr == nil && f[2] == strconv.Itoa(pid) &&
			strings.TrimSpace(string(comm)) == "sleep" && !bytes.Contains(env, []byte(mark))
	}, "process %d to leave the task: sleep, in a group of its own, without the mark", pid)
}

// stripGPUs rewrites the groups in dir's groups.json as an agent that
// did not record their GPUs wrote them.
func stripGPUs(t *testing.T, dir string) {
	t.Helper()
	path := filepath.Join(dir, groupsFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var gs []map[string]any
	if err := json.Unmarshal(b, &gs); err != nil {
		t.Fatal(err)
	}
	for _, g := range gs {
		delete(g, "gpus")
	}
	if b, err = json.Marshal(gs); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A group recorded with no GPUs (a task without any) is read as such,
// not as an older agent's record whose GPUs are unknown.
func TestGroupsRecordTheirGPUs(t *testing.T) {
	dir := t.TempDir()
	r := newProcesses(dir, 0, slog.New(slog.DiscardHandler))
	for _, gpus := range [][]int{{0, 1}, nil} {
		task := sh("j", len(gpus), `exec sleep 1000`, nil)
		task.GPUs = gpus
		p, err := r.Start(task)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Signal(syscall.SIGKILL); p.Wait() })
	}
	var gs []group
	if _, _, err := readRecord(dir, groupsFile, &gs); err != nil || len(gs) != 2 {
		t.Fatalf("%s: %+v (%v); want two groups", groupsFile, gs, err)
	}
	for _, g := range gs {
		want := map[string]int{"j/2/1": 2, "j/0/1": 0}[g.Task]
		if g.GPUs == nil || len(g.GPUs) != want {
			t.Errorf("group of %s recorded with GPUs %#v; want %d, listed", g.Task, g.GPUs, want)
		}
	}
}

// The next agent stops (pins) every process of a crashed agent's group
// at once and waits for them together, a second at most, however many
// are stuck (here eleven, frozen, stuckInDriver: none stops); each is
// then killed alone and noted, its task's GPUs down while it is there,
// those that cleared their environment (no mark finds them) too. Before,
// it waited a second for each in turn, leader, members, then each marked
// one again: 17 s before the 5 s wait for the group to go, and the
// members without the mark were never noted (their GPUs free).
func TestStuckLeftoversAreWaitedForOnce(t *testing.T) {
	dir, pidFile := t.TempDir(), filepath.Join(t.TempDir(), "pids")
	r := newProcesses(dir, 0, slog.New(slog.DiscardHandler))
	task := sh("j", 0, `for i in 1 2 3 4 5; do
	sleep 1000 & echo $! >> `+pidFile+`
	env -i sleep 1000 & echo $! >> `+pidFile+`
done
echo $$ >> `+pidFile+`
exec sleep 1000`, nil)
	task.GPUs = []int{1}
	p, err := r.Start(task)
	if err != nil {
		t.Fatal(err)
	}
	leader := p.(*process)
	t.Cleanup(func() { _ = leader.cmd.Process.Kill(); _ = leader.cmd.Wait() })
	var pids []int
	eventually(t, 5*time.Second, func() bool {
		b, _ := os.ReadFile(pidFile)
		pids = pids[:0]
		for f := range strings.FieldsSeq(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
		return len(pids) == 11
	}, "the task's 11 PIDs in %s", pidFile)
	eventually(t, 5*time.Second, func() bool {
		comm, err := os.ReadFile("/proc/" + strconv.Itoa(leader.PID()) + "/comm")
		return err == nil && strings.TrimSpace(string(comm)) == "sleep"
	}, "the task's main process to run sleep")
	stuckInDriver(t, pids...)

	began := time.Now()
	left := newProcesses(dir, 0, slog.New(slog.DiscardHandler)).killLeftovers()
	took := time.Since(began)
	t.Logf("killing the leftovers took %v", took)
	if len(left) != 1 || left[0].task != "j/0/1" || len(left[0].procs) != 11 {
		t.Errorf("outlived %+v; want j/0/1 with its 11 processes", left)
	}
	if took > groupGoneWait+3*time.Second {
		t.Errorf("killing the leftovers took %v; want the %v wait for them to go and one pin wait (%v)", took, groupGoneWait, pinWait)
	}
}
