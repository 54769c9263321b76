package e2e

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/client"
	"github.com/carnot-dc/carnot/internal/gpu"
)

// envOf parses a file written by `env`.
func envOf(s string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}

// A 2-replica gang runs both processes at the same time, each with the
// environment of a torchrun-style launcher.
func TestGangRunsTogetherWithItsEnvironment(t *testing.T) {
	d := startDev(t)
	// Each replica writes its environment, then waits (at most 10 s) for
	// the other's file: the job succeeds only if both run at once.
	j := d.submit(map[string]any{"id": "gang", "replicas": 2, "gpus": 2, "env": map[string]string{"MY_SETTING": "42"},
		"command": sh(`env > env.$RANK; i=0; while [ ! -e env.0 ] || [ ! -e env.1 ]; do i=$((i+1)); [ $i -gt 200 ] && exit 7; sleep 0.05; done`)})
	got := d.waitState(j.ID, api.StateSucceeded, 30*time.Second)
	if len(got.Replicas) != 2 || got.Attempt != 1 {
		t.Fatalf("replicas %+v, attempt %d", got.Replicas, got.Attempt)
	}
	// The UUIDs the agent's fake NVML reports for node-1's 4 GPUs, by
	// index: the node shows them, and each process sees those of exactly
	// the GPUs its replica holds.
	fake, err := gpu.NewFake(4, "H100", "node-1")
	if err != nil {
		t.Fatal(err)
	}
	var uuids []string
	for _, g := range fake.Info() {
		uuids = append(uuids, g.UUID)
	}
	n, err := d.cl.GetNode(context.Background(), "node-1")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(n.GPUUUIDs, uuids) {
		t.Errorf("node-1's gpu_uuids: %v, want its agent's %v", n.GPUUUIDs, uuids)
	}
	gpus := map[string]bool{}
	for rank := range 2 {
		env := envOf(d.readFile("env." + strconv.Itoa(rank)))
		want := map[string]string{"CARNOT_JOB_ID": "gang", "CARNOT_REPLICA": strconv.Itoa(rank), "RANK": strconv.Itoa(rank),
			"WORLD_SIZE": "2", "MY_SETTING": "42", "CARNOT_TENANT": "default", "CARNOT_ATTEMPT": "1"}
		for k, v := range want {
			if env[k] != v {
				t.Errorf("replica %d: %s=%q, want %q", rank, k, env[k], v)
			}
		}
		if env["MASTER_ADDR"] == "" || env["MASTER_PORT"] == "" {
			t.Errorf("replica %d: MASTER_ADDR=%q MASTER_PORT=%q", rank, env["MASTER_ADDR"], env["MASTER_PORT"])
		}
		if env["PATH"] == "" {
			t.Errorf("replica %d: the agent's PATH was not passed on", rank)
		}
		cvd := env["CUDA_VISIBLE_DEVICES"]
		if len(strings.Split(cvd, ",")) != 2 {
			t.Errorf("replica %d: CUDA_VISIBLE_DEVICES=%q, want 2 GPUs", rank, cvd)
		}
		for _, g := range strings.Split(cvd, ",") {
			if gpus[g] {
				t.Errorf("GPU %s given to both replicas", g)
			}
			gpus[g] = true
		}
		var ids []string
		for _, g := range got.Replicas[rank].GPUs {
			ids = append(ids, uuids[g])
		}
		if cvd != strings.Join(ids, ",") {
			t.Errorf("replica %d: CUDA_VISIBLE_DEVICES=%q, but the job's replica holds GPUs %v: %q", rank, cvd, got.Replicas[rank].GPUs, ids)
		}
		if o, ok := env["CUDA_DEVICE_ORDER"]; ok {
			t.Errorf("replica %d: CUDA_DEVICE_ORDER=%q set although its GPUs are named by UUID", rank, o)
		}
	}
	e0, e1 := envOf(d.readFile("env.0")), envOf(d.readFile("env.1"))
	if e0["MASTER_PORT"] != e1["MASTER_PORT"] || e0["MASTER_ADDR"] != e1["MASTER_ADDR"] {
		t.Errorf("replicas disagree on the rendezvous: %s:%s vs %s:%s", e0["MASTER_ADDR"], e0["MASTER_PORT"], e1["MASTER_ADDR"], e1["MASTER_PORT"])
	}
}

// Logs can be followed while the job runs; the stream ends with it.
func TestLogsFollow(t *testing.T) {
	d := startDev(t)
	j := d.submit(map[string]any{"gpus": 1, "command": sh(`for i in 1 2 3 4 5; do echo line $i; sleep 0.2; done; echo oops >&2`)})
	d.waitState(j.ID, api.StateRunning, 20*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rc, err := d.cl.Logs(ctx, j.ID, client.LogOptions{Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatalf("reading the followed log: %v", err)
	}
	if want := "line 1\nline 2\nline 3\nline 4\nline 5\n"; string(out) != want {
		t.Errorf("followed stdout = %q, want %q", out, want)
	}
	d.waitState(j.ID, api.StateSucceeded, 20*time.Second)
	rc, err = d.cl.Logs(ctx, j.ID, client.LogOptions{Stream: "stderr"})
	if err != nil {
		t.Fatal(err)
	}
	errOut, _ := io.ReadAll(rc)
	rc.Close()
	if string(errOut) != "oops\n" {
		t.Errorf("stderr = %q, want %q", errOut, "oops\n")
	}
}

// Exit codes are recorded; a failed replica fails the job (no restart
// policy), and on-failure restarts it at most max_retries times.
func TestExitCodesAndRestarts(t *testing.T) {
	d := startDev(t)
	fail := d.submit(map[string]any{"gpus": 1, "command": sh("exit 3")})
	ok := d.submit(map[string]any{"gpus": 0, "cpus": 1, "command": sh("exit 0")})
	retry := d.submit(map[string]any{"gpus": 1, "restart": "on-failure", "max_retries": 2,
		"command": sh(`echo run >> runs.txt; exit 5`)})
	got := d.waitState(fail.ID, api.StateFailed, 20*time.Second)
	if got.ExitCode == nil || *got.ExitCode != 3 || got.Replicas[0].ExitCode == nil || *got.Replicas[0].ExitCode != 3 {
		t.Errorf("failed job: exit code %v, replica %+v", got.ExitCode, got.Replicas[0])
	}
	if g := d.waitState(ok.ID, api.StateSucceeded, 20*time.Second); g.ExitCode == nil || *g.ExitCode != 0 {
		t.Errorf("succeeded job: exit code %v", g.ExitCode)
	}
	r := d.waitState(retry.ID, api.StateFailed, 30*time.Second)
	if r.Attempt != 3 || r.Restarts != 2 {
		t.Errorf("restarted job: attempt %d, restarts %d; want 3 and 2", r.Attempt, r.Restarts)
	}
	if runs := strings.Count(d.readFile("runs.txt"), "run"); runs != 3 {
		t.Errorf("the retried job ran %d times, want 3", runs)
	}
}

// Cancel stops the whole process group: SIGTERM, then SIGKILL after the
// grace for what ignored SIGTERM.
func TestCancelKillsTheProcessGroup(t *testing.T) {
	d := startDev(t)
	j := d.submit(map[string]any{"gpus": 1, "checkpoint_grace": "1s",
		"command": sh(`(trap "" TERM; exec sleep 300) & echo $! > child.pid; echo started > started; wait`)})
	d.waitFor("the job's child process", 20*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(d.Work, "started"))
		return err == nil
	})
	pid, err := strconv.Atoi(strings.TrimSpace(d.readFile("child.pid")))
	if err != nil || !alive(pid) {
		t.Fatalf("child pid %q: %v (alive %v)", d.readFile("child.pid"), err, alive(pid))
	}
	if _, err := d.cl.CancelJob(context.Background(), j.ID); err != nil {
		t.Fatal(err)
	}
	got := d.waitState(j.ID, api.StateCancelled, 20*time.Second)
	if alive(pid) && !zombie(pid) { // killed, its parent (a PID 1 that reaps late) may not have reaped it
		t.Errorf("the child %d that ignored SIGTERM survived the cancel", pid)
	}
	if got.EndTime == nil {
		t.Errorf("cancelled job has no end time")
	}
	if _, err := d.cl.CancelJob(context.Background(), j.ID); !client.IsConflict(err) {
		t.Errorf("cancelling a cancelled job: %v, want a conflict", err)
	}
}

// A preempted job gets SIGTERM as its checkpoint notice, SIGKILL after its
// grace, and goes back to the queue; the job it was preempted for runs.
func TestPreemptionNoticeThenKill(t *testing.T) {
	d := startDev(t)
	victim := d.submit(map[string]any{"id": "victim", "gpus": 4, "priority_class": "low", "checkpoint_grace": "2s",
		"command": sh(`trap 'date +%s.%N > term.$CARNOT_ATTEMPT' TERM; echo up > up.$CARNOT_ATTEMPT; while true; do sleep 0.1; done`)})
	d.waitFor("the victim to run", 20*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(d.Work, "up.1"))
		return err == nil
	})
	boss := d.submit(map[string]any{"id": "boss", "gpus": 4, "priority_class": "high", "command": sh("echo done")})
	d.waitState(boss.ID, api.StateSucceeded, 30*time.Second)
	v := d.job(victim.ID)
	if v.Preemptions != 1 {
		t.Errorf("victim preemptions = %d, want 1", v.Preemptions)
	}
	term := d.readFile("term.1")
	sec, err := strconv.ParseFloat(strings.TrimSpace(term), 64)
	if err != nil {
		t.Fatalf("term marker %q: %v", term, err)
	}
	evs, err := d.cl.Events(context.Background(), victim.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	var sawNotice, sawEvicted bool
	var killed time.Time
	for _, e := range evs.Events {
		sawNotice = sawNotice || e.Type == api.EventPreempt
		if e.Type == api.EventEvicted {
			sawEvicted, killed = true, e.Time
		}
	}
	if !sawNotice || !sawEvicted {
		t.Fatalf("victim events %+v: want a preempt notice and an eviction", evs.Events)
	}
	// The victim ignored SIGTERM; it ended only by SIGKILL, a grace (2 s)
	// after the notice.
	if held := killed.Sub(time.Unix(0, int64(sec*1e9))); held < time.Second {
		t.Errorf("the victim was evicted %s after SIGTERM; its grace is 2 s", held)
	}
	// Back in the queue, it starts again once the GPUs are free.
	d.waitFor("the victim's second attempt", 30*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(d.Work, "up.2"))
		return err == nil
	})
	if _, err := d.cl.CancelJob(context.Background(), victim.ID); err != nil {
		t.Fatal(err)
	}
	d.waitState(victim.ID, api.StateCancelled, 20*time.Second)
}

// A retried submission with the same idempotency key returns the same
// job and creates no other.
func TestIdempotentSubmission(t *testing.T) {
	d := startDev(t)
	spec := []byte(`{"tenant":"default","gpus":0,"cpus":1,"command":["/bin/sh","-c","sleep 30"]}`)
	a, err := d.cl.SubmitJob(context.Background(), spec, "key-1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.cl.SubmitJob(context.Background(), spec, "key-1")
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.cl.SubmitJob(context.Background(), spec, "key-2")
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != b.ID || a.ID == c.ID {
		t.Errorf("ids: key-1 %s then %s, key-2 %s", a.ID, b.ID, c.ID)
	}
	all, err := d.cl.AllJobs(context.Background(), client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Errorf("%d jobs after three submissions with two keys, want 2", len(all))
	}
}

// Invalid specs get 400 problem documents naming the field; unknown
// fields and oversized bodies are refused.
func TestInvalidSubmissions(t *testing.T) {
	d := startDev(t)
	cases := []struct {
		name, body string
		status     int
		field      string
	}{
		{"negative gpus", `{"tenant":"default","gpus":-1,"command":["true"]}`, 400, "gpus"},
		{"unknown field", `{"tenant":"default","gpus":1,"gpu":2,"command":["true"]}`, 400, "gpu"},
		{"unknown tenant", `{"tenant":"nobody","gpus":1,"command":["true"]}`, 400, "tenant"},
		{"no command", `{"tenant":"default","gpus":1}`, 400, "command"},
		{"asks for nothing", `{"tenant":"default","gpus":0,"command":["true"]}`, 400, "gpus"},
		{"too many gpus", `{"tenant":"default","gpus":64,"command":["true"]}`, 400, "gpus"},
		{"not an object", `[1,2]`, 400, ""},
		{"oversized", `{"tenant":"default","gpus":1,"command":["` + strings.Repeat("x", 2<<20) + `"]}`, 413, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := d.post("/v1/jobs", c.body)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != c.status || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("status %d %s, want %d problem+json", resp.StatusCode, resp.Header.Get("Content-Type"), c.status)
			}
			_, err = d.cl.SubmitJob(context.Background(), []byte(c.body), "")
			var p *api.Problem
			if !errors.As(err, &p) {
				t.Fatalf("client error %v is not a problem", err)
			}
			if c.field != "" {
				found := false
				for _, fe := range p.Errors {
					found = found || fe.Field == c.field
				}
				if !found {
					t.Errorf("problem %+v does not name field %q", p, c.field)
				}
			}
		})
	}
}
