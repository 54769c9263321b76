package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// carnot runs the CLI against d and returns its stdout.
func (d *dev) carnot(args ...string) (string, error) {
	cmd := exec.Command(carnotBin, args...)
	cmd.Env = append(cmd.Environ(), d.env()...)
	cmd.Dir = d.Work
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), &cliError{err: ee, stderr: string(ee.Stderr)}
	}
	return string(out), err
}

type cliError struct {
	err    error
	stderr string
}

func (e *cliError) Error() string { return e.err.Error() + ": " + e.stderr }

// The CLI as a user types it: run -f prints the job's output and exits
// with its outcome; jobs, describe and logs find it.
func TestCLIRunFollowJobsLogs(t *testing.T) {
	d := startDev(t)
	out, err := d.carnot("run", "-f", "--gpus", "1", "--", "sh", "-c", "echo hello from $CARNOT_JOB_ID; pwd")
	if err != nil {
		t.Fatalf("carnot run -f: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[len(lines)-2], "hello from j-") || lines[len(lines)-1] != d.Work {
		t.Fatalf("carnot run -f printed %q; want the job's greeting and the working directory %s", out, d.Work)
	}
	id := strings.TrimPrefix(lines[len(lines)-2], "hello from ")
	js, err := d.carnot("jobs", "-A", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var list api.JobList
	if err := json.Unmarshal([]byte(js), &list); err != nil {
		t.Fatalf("carnot jobs -o json: %v\n%s", err, js)
	}
	if len(list.Jobs) != 1 || list.Jobs[0].ID != id || list.Jobs[0].State != api.StateSucceeded {
		t.Fatalf("carnot jobs: %+v", list.Jobs)
	}
	logs, err := d.carnot("logs", id)
	if err != nil || !strings.HasPrefix(logs, "hello from "+id+"\n") {
		t.Errorf("carnot logs: %q, %v", logs, err)
	}
	desc, err := d.carnot("describe", id)
	if err != nil || !strings.Contains(desc, "succeeded") || !strings.Contains(desc, "node-1") {
		t.Errorf("carnot describe: %v\n%s", err, desc)
	}
	if _, err := d.carnot("run", "-f", "--gpus", "1", "--", "sh", "-c", "exit 4"); err == nil {
		t.Errorf("carnot run -f of a failing job exited 0")
	}
}

// The state survives a restart of carnot dev on the same data directory.
func TestDevRestartKeepsJobs(t *testing.T) {
	d := startDev(t)
	done := d.submit(map[string]any{"id": "done", "gpus": 1, "command": sh("echo ok")})
	d.waitState(done.ID, api.StateSucceeded, 20*time.Second)
	waiting := d.submit(map[string]any{"id": "later", "gpus": 1, "earliest_start": time.Now().Add(time.Hour).Unix(), "command": sh("true")})
	d.stop()
	d2 := startDev(t, "--data-dir", d.Dir)
	if j := d2.job(done.ID); j.State != api.StateSucceeded {
		t.Errorf("after a restart, %s is %s", done.ID, j.State)
	}
	j := d2.job(waiting.ID)
	if j.State != api.StatePending {
		t.Fatalf("after a restart, %s is %s", waiting.ID, j.State)
	}
	d2.waitFor("the reloaded job's reason", 10*time.Second, func() bool {
		j := d2.job(waiting.ID)
		return j.Reason != nil && j.Reason.Code == "not-before"
	})
}

// carnot dev keeps an audit log signed with the key it made in its data
// directory; the CLI verifies the export offline.
func TestDevAuditExportVerifies(t *testing.T) {
	d := startDev(t)
	j := d.submit(map[string]any{"gpus": 1, "command": sh("true")})
	d.waitState(j.ID, api.StateSucceeded, 20*time.Second)
	if _, err := d.carnot("audit", "export", "-o", "audit.jsonl"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(d.Work, "audit.jsonl")
	export, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out, err := d.carnot("audit", "verify", "--key", filepath.Join(d.Dir, "audit.pub"), path)
	if err != nil || !strings.HasPrefix(out, "ok: ") {
		t.Fatalf("carnot audit verify: %v\n%s", err, out)
	}
	if !strings.Contains(string(export), j.ID) {
		t.Errorf("the export does not mention job %s", j.ID)
	}
	mine, err := d.carnot("audit", "export", "--job", j.ID)
	if err != nil || !strings.Contains(mine, `"proof"`) {
		t.Errorf("carnot audit export --job: %v\n%.400s", err, mine)
	}
}

// carnot tenants and carnot sites read a real server: the dev tenant's
// running job holds 2 of the node's 4 GPUs, and the site counts them.
func TestCLITenantsAndSites(t *testing.T) {
	d := startDev(t)
	j := d.submit(map[string]any{"id": "hold", "gpus": 2, "command": sh("sleep 60")})
	d.waitState(j.ID, api.StateRunning, 20*time.Second)
	out, err := d.carnot("tenants", "-o", "json")
	if err != nil {
		t.Fatalf("carnot tenants -o json: %v\n%s", err, out)
	}
	var tl api.TenantList
	if err := json.Unmarshal([]byte(out), &tl); err != nil {
		t.Fatalf("carnot tenants -o json: %v\n%s", err, out)
	}
	if len(tl.Tenants) != 1 || tl.Tenants[0].Name != "default" || tl.Tenants[0].Running != 1 || tl.Tenants[0].GPUsUsed["H100"] != 2 {
		t.Errorf("carnot tenants: %+v; want tenant default running 1 job on 2 H100", tl.Tenants)
	}
	out, err = d.carnot("tenants")
	if err != nil || !strings.Contains(out, "default") || !strings.Contains(out, "H100 2") {
		t.Errorf("carnot tenants: %v\n%s", err, out)
	}
	out, err = d.carnot("sites")
	if err != nil {
		t.Fatalf("carnot sites: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "SITE ") || !strings.Contains(lines[1], " 2/4 ") {
		t.Errorf("carnot sites printed\n%s\nwant a header and one site with 2/4 GPUs in use", out)
	}
	if _, err := d.carnot("cancel", j.ID); err != nil {
		t.Error(err)
	}
}

// A pipeline on carnot dev with real processes: train (--after prep)
// runs once prep exited 0, and sees prep's output; eval, after a step
// that exits 1, is cancelled saying so, and the steps after it with
// afterany and afternotok run; afternotok on a step that succeeded is
// refused.
func TestCLIPipelineAfter(t *testing.T) {
	d := startDev(t)
	marker := filepath.Join(d.Work, "prepped")
	if out, err := d.carnot("run", "--id", "prep", "--gpus", "1", "--", "sh", "-c", "sleep 1; touch "+marker); err != nil {
		t.Fatalf("run prep: %v\n%s", err, out)
	}
	out, err := d.carnot("run", "-f", "--id", "train", "--after", "prep", "--gpus", "1", "--", "sh", "-c", "test -e "+marker+" && echo found")
	if err != nil || !strings.Contains(out, "found") {
		t.Fatalf("run -f --after prep: %v\n%s\nwant train to run after prep made its file", err, out)
	}
	if _, err := d.carnot("run", "--id", "broken", "--gpus", "1", "--", "sh", "-c", "sleep 1; exit 1"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.carnot("run", "--id", "eval", "--after", "broken", "--gpus", "1", "--", "true"); err != nil {
		t.Fatal(err)
	}
	// cleanup (afterany) and alert (afternotok) run because broken
	// failed; notify (afternotok of train, which succeeded) is refused
	for _, after := range []string{"afterany:broken", "afternotok:broken"} {
		if out, err := d.carnot("run", "--id", after[:strings.IndexByte(after, ':')], "--after", after, "--gpus", "1", "--", "true"); err != nil {
			t.Fatalf("run --after %s: %v\n%s", after, err, out)
		}
	}
	j := d.waitFinal("eval", 20*time.Second)
	if j.State != api.StateCancelled || j.Message != "dependency broken failed" {
		t.Errorf("eval after a failed step: %s %q; want cancelled: dependency broken failed", j.State, j.Message)
	}
	for _, id := range []string{"afterany", "afternotok"} {
		if j := d.waitFinal(id, 20*time.Second); j.State != api.StateSucceeded {
			t.Errorf("%s:broken after it failed: %s %q; want succeeded", id, j.State, j.Message)
		}
	}
	if out, err := d.carnot("run", "--id", "notify", "--after", "afternotok:train", "--gpus", "1", "--", "true"); err == nil ||
		!strings.Contains(out+err.Error(), `job "train" succeeded: this job would never start`) {
		t.Errorf("run --after afternotok:train, which succeeded: %v\n%s\nwant it refused", err, out)
	}
}

// A job preempted back to the queue holds no node: carnot jobs shows its
// NODES as "-" while it waits, as for any pending job, not the node its
// last attempt ran on (before, "low pending … node-1 preempting: …" read
// as if it were placed there).
func TestCLIJobsOfAPreemptedJobHoldsNoNode(t *testing.T) {
	d := startDev(t)
	d.submit(map[string]any{"id": "low", "gpus": 4, "priority_class": "low", "command": sh("sleep 120")})
	d.waitState("low", api.StateRunning, 30*time.Second)
	d.submit(map[string]any{"id": "high", "gpus": 4, "priority_class": "high", "command": sh("sleep 120")})
	d.waitState("high", api.StateRunning, 30*time.Second)
	if j := d.job("low"); j.State != api.StatePending || len(j.Replicas) == 0 {
		t.Fatalf("low is %s with replicas %+v; want pending, its last attempt's replicas kept", j.State, j.Replicas)
	}
	out, err := d.carnot("jobs")
	if err != nil {
		t.Fatalf("carnot jobs: %v\n%s", err, out)
	}
	nodes := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 5 {
			nodes[f[0]] = f[5]
		}
	}
	if nodes["low"] != "-" || nodes["high"] != "node-1" {
		t.Errorf("carnot jobs:\n%s\nwant NODES - for the pending low, node-1 for the running high", out)
	}
}
