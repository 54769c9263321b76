package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/client"
)

// Adversarial end-to-end tests: flows a real user hits.

// pidFile waits for a file of the work directory holding a PID and
// returns the PID, checking the process is alive.
func (d *dev) pidFile(name string, timeout time.Duration) int {
	d.t.Helper()
	pid := d.pidOf(name, timeout)
	if !alive(pid) {
		d.t.Fatalf("the process in %s (pid %d) is not alive", name, pid)
	}
	return pid
}

// pidOf waits for a file of the work directory holding a PID and returns
// the PID.
func (d *dev) pidOf(name string, timeout time.Duration) int {
	d.t.Helper()
	var pid int
	d.waitFor("pid file "+name, timeout, func() bool {
		b, err := os.ReadFile(filepath.Join(d.Work, name))
		if err != nil || !bytes.HasSuffix(b, []byte("\n")) {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	return pid
}

// waitGone waits until pid no longer exists (or is a zombie), reporting
// an error when it outlives timeout.
func waitGone(t *testing.T, what string, pid int, timeout time.Duration) {
	t.Helper()
	end := time.Now().Add(timeout)
	for alive(pid) && !zombie(pid) {
		if time.Now().After(end) {
			t.Errorf("%s (pid %d) still alive %s later; want it killed", what, pid, timeout)
			syscall.Kill(pid, syscall.SIGKILL) // do not leak it
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// zombie reports whether pid is a zombie (ended, not yet reaped).
func zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z'
	}
	return false
}

// waitFinal waits until job id is final (or until ok says it is done) and
// returns it; it fails the test with the job's last state on timeout.
func (d *dev) waitFinal(id string, timeout time.Duration) *api.Job {
	d.t.Helper()
	var j *api.Job
	end := time.Now().Add(timeout)
	for {
		j = d.job(id)
		if api.Final(j.State) {
			return j
		}
		if time.Now().After(end) {
			d.t.Fatalf("job %s is still %s (%q) after %s; want it to end", id, j.State, j.Message, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (d *dev) submitDeployment(spec map[string]any) *api.Job {
	d.t.Helper()
	spec["kind"] = "deployment"
	if _, ok := spec["tenant"]; !ok {
		spec["tenant"] = "default"
	}
	if _, ok := spec["workdir"]; !ok {
		spec["workdir"] = d.Work
	}
	b, _ := json.Marshal(spec)
	j, err := d.cl.SubmitDeployment(context.Background(), b, "")
	if err != nil {
		d.t.Fatalf("submit deployment %s: %v", b, err)
	}
	return j
}

// 1. carnot dev restarted while a long job runs: the job must end (or be
// restarted) within the heartbeat timeout, and its process must be gone.
func TestAdvDevRestartWhileJobRuns(t *testing.T) {
	d := startDev(t)
	j := d.submit(map[string]any{"id": "long", "gpus": 1, "command": sh(`echo $$ > long.pid; exec sleep 300`)})
	d.waitState(j.ID, api.StateRunning, 10*time.Second)
	pid := d.pidFile("long.pid", 10*time.Second)
	d.stop()
	// Stopping carnot dev stops its agent's tasks (grace capped at 10 s).
	waitGone(t, "the job's process after carnot dev stopped", pid, 2*time.Second)

	d2 := startDev(t, "--data-dir", d.Dir)
	restarted := time.Now()
	var got *api.Job
	// Heartbeat timeout 3 s + margin.
	end := restarted.Add(8 * time.Second)
	for {
		got = d2.job(j.ID)
		if api.Final(got.State) || got.Attempt > 1 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("after a restart, job %s is still %s (attempt %d, %q, replicas %+v) %s later; want it failed/lost or restarted within the heartbeat timeout (3 s)",
				j.ID, got.State, got.Attempt, got.Message, got.Replicas, time.Since(restarted).Round(time.Millisecond))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("after restart: %s attempt %d %q after %s", got.State, got.Attempt, got.Message, time.Since(restarted).Round(time.Millisecond))
	if got.State == api.StateSucceeded {
		t.Errorf("job killed by the restart reported succeeded")
	}
	if alive(pid) && !zombie(pid) {
		t.Errorf("the job's process %d survived the restart", pid)
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// 2. A deployment replica killed from outside is replaced; the deployment
// keeps running; cancel stops every process.
func TestAdvDeploymentReplacesKilledReplica(t *testing.T) {
	d := startDev(t)
	dep := d.submitDeployment(map[string]any{"replicas": 2, "gpus": 1, "command": []string{"sh", "-c", "sleep 300"}})
	var j *api.Job
	d.waitFor("2 running replicas with PIDs", 10*time.Second, func() bool {
		j = d.job(dep.ID)
		n := 0
		for _, r := range j.Replicas {
			if r.State == api.ReplicaRunning && r.PID > 0 {
				n++
			}
		}
		return j.State == api.StateRunning && n == 2
	})
	pids := []int{j.Replicas[0].PID, j.Replicas[1].PID}
	victim := pids[0]
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d: %v", victim, err)
	}
	killed := time.Now()
	end := killed.Add(8 * time.Second)
	for {
		j = d.job(dep.ID)
		if api.Final(j.State) {
			t.Fatalf("the deployment ended (%s: %q) after one replica was killed; want it to keep running. replicas %+v", j.State, j.Message, j.Replicas)
		}
		running := 0
		for _, r := range j.Replicas {
			if r.State == api.ReplicaRunning && r.PID > 0 && alive(r.PID) {
				running++
			}
		}
		if len(j.Replicas) >= 3 && running >= 2 && j.State == api.StateRunning {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("8 s after kill -9 of a replica: deployment %s, %d replicas %+v; want a 3rd, running replica (2 running)", j.State, len(j.Replicas), j.Replicas)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("replaced after %s: %s", time.Since(killed).Round(time.Millisecond), replicasString(j.Replicas))
	if j.Replicas[0].State == api.ReplicaRunning {
		t.Errorf("the killed replica is still shown running: %+v", j.Replicas[0])
	}
	for _, r := range j.Replicas {
		if r.PID > 0 {
			pids = append(pids, r.PID)
		}
	}
	if _, err := d.cl.CancelJob(context.Background(), dep.ID); err != nil {
		t.Fatal(err)
	}
	d.waitState(dep.ID, api.StateCancelled, 15*time.Second)
	for _, p := range pids {
		waitGone(t, "a replica of the cancelled deployment", p, 2*time.Second)
	}
}

// 3. Drain keeps running work and takes nothing new; undrain lets the
// pending job start.
func TestAdvDrainKeepsRunningJobHoldsNewOne(t *testing.T) {
	d := startDev(t)
	ctx := context.Background()
	first := d.submit(map[string]any{"id": "first", "gpus": 1,
		"command": sh(`echo up > first.up; while [ ! -e go ]; do sleep 0.05; done; echo finished`)})
	d.waitState(first.ID, api.StateRunning, 10*time.Second)
	d.pidFileLike("first.up", 10*time.Second)
	n, err := d.cl.Drain(ctx, "node-1")
	if err != nil {
		t.Fatalf("drain: %v", err)
	}
	if n.Condition != api.NodeDraining || !n.Drained {
		t.Errorf("the drain answered a node with condition %q, drained %v; want %q and true", n.Condition, n.Drained, api.NodeDraining)
	}
	if g, err := d.cl.GetNode(ctx, "node-1"); err != nil || g.Condition != api.NodeDraining || !g.Drained {
		t.Errorf("after the drain, GET node: %v, condition %q, drained %v; want %q and true", err, g.Condition, g.Drained, api.NodeDraining)
	}
	second := d.submit(map[string]any{"id": "second", "gpus": 1, "command": sh(`echo second > second.out`)})
	d.waitFor("the second job's pending reason", 10*time.Second, func() bool {
		j := d.job(second.ID)
		if j.State != api.StatePending {
			t.Fatalf("on a drained node, a new job is %s (%q); want pending", j.State, j.Message)
		}
		return j.Reason != nil && j.Reason.Code != ""
	})
	sj := d.job(second.ID)
	t.Logf("pending reason: %s: %s", sj.Reason.Code, sj.Reason.Message)
	if f := d.job(first.ID); f.State != api.StateRunning {
		t.Fatalf("draining stopped the running job: %s (%q)", f.State, f.Message)
	}
	if err := os.WriteFile(filepath.Join(d.Work, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	d.waitState(first.ID, api.StateSucceeded, 10*time.Second)
	// With the GPUs free, the drained node still takes nothing: wait for a
	// full pass (≤5 s) to have run after the first job ended.
	finished := time.Now()
	d.waitFor("a pass after the first job ended", 8*time.Second, func() bool {
		j := d.job(second.ID)
		if j.State != api.StatePending {
			t.Fatalf("after the running job ended, the drained node started the new job: %s (%q)", j.State, j.Message)
		}
		return j.Reason != nil && j.Reason.Pass.After(finished)
	})
	if _, err := d.cl.Undrain(ctx, "node-1"); err != nil {
		t.Fatalf("undrain: %v", err)
	}
	d.waitState(second.ID, api.StateSucceeded, 10*time.Second)
}

// pidFileLike waits for a file of the work directory to exist.
func (d *dev) pidFileLike(name string, timeout time.Duration) {
	d.t.Helper()
	d.waitFor("file "+name, timeout, func() bool {
		_, err := os.Stat(filepath.Join(d.Work, name))
		return err == nil
	})
}

// 4. A command that does not exist fails quickly with a useful message.
func TestAdvMissingCommandFailsQuickly(t *testing.T) {
	d := startDev(t)
	j := d.submit(map[string]any{"gpus": 1, "command": []string{"/no/such/binary", "--flag"}})
	got := d.waitFinal(j.ID, 10*time.Second)
	if got.State != api.StateFailed {
		t.Fatalf("job with a missing command is %s (%q); want failed", got.State, got.Message)
	}
	if len(got.Replicas) != 1 {
		t.Fatalf("replicas %+v", got.Replicas)
	}
	r := got.Replicas[0]
	if !strings.Contains(r.Error, "/no/such/binary") {
		t.Errorf("replica error %q does not mention the command /no/such/binary", r.Error)
	}
	if r.ExitCode == nil || *r.ExitCode != 127 {
		t.Errorf("replica exit code %v, want 127 (command not found)", r.ExitCode)
	}
	if !strings.Contains(got.Message, "/no/such/binary") {
		t.Errorf("job message %q does not mention the command /no/such/binary", got.Message)
	}
	rc, err := d.cl.Logs(context.Background(), j.ID, client.LogOptions{Stream: "stderr"})
	if err != nil {
		t.Errorf("stderr log: %v", err)
		return
	}
	defer rc.Close()
	stderr, _ := io.ReadAll(rc)
	if !strings.Contains(string(stderr), "/no/such/binary") {
		t.Errorf("stderr log %q does not mention the command", stderr)
	}
}

// 5. A gang whose rank 1 exits 1 at once fails within the kill timeout,
// and rank 0's process is gone, also when it ignores SIGTERM.
func TestAdvGangRankFailureStopsTheGang(t *testing.T) {
	d := startDev(t)
	for _, c := range []struct{ name, rank0 string }{
		{"plain", `echo $$ > %s.r0.pid; exec sleep 300`},
		{"ignores-term", `trap '' TERM; echo $$ > %s.r0.pid; exec sleep 300`},
	} {
		t.Run(c.name, func(t *testing.T) {
			parent := d.t
			d.t = t
			defer func() { d.t = parent }()
			rank0 := fmt.Sprintf(c.rank0, c.name)
			script := fmt.Sprintf(`if [ "$RANK" = 1 ]; then while [ ! -e %s.r0.pid ]; do sleep 0.02; done; exit 1; fi; %s`, c.name, rank0)
			j := d.submit(map[string]any{"id": "gang-" + c.name, "replicas": 2, "gpus": 1, "command": sh(script)})
			// Rank 1 exits as soon as the file exists: rank 0 may be gone
			// already.
			pid := d.pidOf(c.name+".r0.pid", 10*time.Second)
			start := time.Now()
			got := d.waitFinal(j.ID, 5*time.Second+4*time.Second)
			took := time.Since(start)
			t.Logf("%s after %s: %q", got.State, took.Round(time.Millisecond), got.Message)
			if got.State != api.StateFailed {
				t.Errorf("gang with a failed rank is %s (%q); want failed", got.State, got.Message)
			}
			waitGone(t, "rank 0 of the failed gang", pid, time.Second)
		})
	}
}

// 5b. The job's exit code is that of the rank whose failure ended the
// gang (its message names it), not the code of a rank the control plane
// killed afterwards: `carnot run -f` reports it.
func TestAdvGangExitCodeIsTheFailingRanks(t *testing.T) {
	d := startDev(t)
	j := d.submit(map[string]any{"replicas": 2, "gpus": 1,
		"command": sh(`if [ "$RANK" = 1 ]; then while [ ! -e r0.up ]; do sleep 0.02; done; exit 1; fi; echo up > r0.up; exec sleep 300`)})
	got := d.waitFinal(j.ID, 10*time.Second)
	if got.State != api.StateFailed || !strings.Contains(got.Message, "replica 1 exited with code 1") {
		t.Fatalf("gang: %s (%q)", got.State, got.Message)
	}
	if got.ExitCode == nil || *got.ExitCode != 1 {
		t.Errorf("gang exit code %s, want 1 (rank 1's, the replica whose failure ended the gang, as the message %q says); replicas %s",
			intp(got.ExitCode), got.Message, replicasString(got.Replicas))
	}
}

// 6. Logs of a job with lots of output are returned whole, byte-exact.
func TestAdvLargeLogsByteExact(t *testing.T) {
	d := startDev(t)
	j := d.submit(map[string]any{"gpus": 1, "command": []string{"seq", "1", "200000"}})
	d.waitState(j.ID, api.StateSucceeded, 15*time.Second)
	var want bytes.Buffer
	for i := 1; i <= 200000; i++ {
		fmt.Fprintf(&want, "%d\n", i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	rc, err := d.cl.Logs(ctx, j.ID, client.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatalf("reading the log: %v (after %d bytes)", err, len(got))
	}
	if !bytes.Equal(got, want.Bytes()) {
		i := 0
		for i < len(got) && i < want.Len() && got[i] == want.Bytes()[i] {
			i++
		}
		t.Fatalf("log is %d bytes, want %d; first difference at byte %d (got %q…)", len(got), want.Len(), i, got[i:min(len(got), i+40)])
	}
}

// 7. A job past its runtime limit fails, with a message saying so, and
// its process is gone.
func TestAdvRuntimeLimit(t *testing.T) {
	d := startDev(t)
	j := d.submit(map[string]any{"gpus": 1, "runtime_limit": "2s", "command": sh(`echo $$ > rl.pid; exec sleep 300`)})
	pid := d.pidFile("rl.pid", 10*time.Second)
	start := time.Now()
	got := d.waitFinal(j.ID, 2*time.Second+5*time.Second+4*time.Second)
	t.Logf("%s after %s: %q replicas %s", got.State, time.Since(start).Round(time.Millisecond), got.Message, replicasString(got.Replicas))
	if got.State != api.StateFailed {
		t.Errorf("job past its runtime limit is %s (%q); want failed", got.State, got.Message)
	}
	if !strings.Contains(strings.ToLower(got.Message), "runtime limit") {
		t.Errorf("message %q does not mention the runtime limit", got.Message)
	}
	waitGone(t, "the process of the job past its runtime limit", pid, time.Second)
}

func intp(p *int) string {
	if p == nil {
		return "<nil>"
	}
	return strconv.Itoa(*p)
}

func replicasString(rs []api.Replica) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "[#%d %s pid %d exit %s signal %q error %q] ", r.Index, r.State, r.PID, intp(r.ExitCode), r.Signal, r.Error)
	}
	return b.String()
}
