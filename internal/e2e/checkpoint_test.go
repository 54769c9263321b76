package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A task reports its checkpoints with plain carnot checkpoint: the job
// from its environment ($CARNOT_JOB_ID), and the server's tenant API
// address, its CA and the task's own job token too ($CARNOT_ADDR,
// $CARNOT_CA, $CARNOT_TOKEN), which the agent sets, as
// docs/operations.md says: no flag, no token file. While the job runs
// the server records the time (last_checkpoint), with no event; once it
// is preempted, the same command in its SIGTERM trap acknowledges the
// notice, recorded as an event with its note. The job token is no API
// token, appears in none of carnot dev's logs, and is refused once its
// attempt is over.
func TestCLICheckpointFromTheTask(t *testing.T) {
	d := startDev(t)
	report := `"$BIN" checkpoint -m "$1" > "$2.out" 2>&1; echo $? > "$2.code"`
	script := `printf %s "$CARNOT_TOKEN" > token.seen
ckpt() { ` + report + `; }
trap 'ckpt saved-on-term ack; exit 0' TERM
ckpt "step 1" routine
sleep 120 & wait`
	env := map[string]string{"BIN": carnotBin}
	d.submit(map[string]any{"id": "train", "gpus": 4, "priority_class": "low", "checkpoint_grace": "60s", "env": env, "command": sh(script)})
	d.waitFor("the task's routine checkpoint", 30*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(d.Work, "routine.code"))
		return err == nil
	})
	if code, out := strings.TrimSpace(d.readFile("routine.code")), d.readFile("routine.out"); code != "0" || !strings.HasPrefix(out, "job train checkpoint recorded at ") {
		t.Fatalf("carnot checkpoint in the task: exit %s, %q; want the time recorded", code, out)
	}
	j := d.job("train")
	if j.State != api.StateRunning || j.LastCheckpoint == nil {
		t.Fatalf("train after its checkpoint: %s, last checkpoint %v; want running, recorded", j.State, j.LastCheckpoint)
	}
	evs, err := d.cl.Events(t.Context(), "train", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs.Events {
		if ev.Type == api.EventCheckpoint {
			t.Errorf("a routine checkpoint recorded an event: %+v", ev)
		}
	}

	// The acknowledgement stops the task at once (SIGKILL of its process
	// group, this command included, which may not live to print): the
	// job's events say it came, and the victim did not wait for its 60 s
	// of grace.
	d.submit(map[string]any{"id": "urgent", "gpus": 4, "priority_class": "high", "command": sh("sleep 1")})
	d.waitState("urgent", api.StateRunning, 30*time.Second) // not after the victim's 60 s
	evs, err = d.cl.Events(t.Context(), "train", 0)
	if err != nil {
		t.Fatal(err)
	}
	acked := false
	for _, ev := range evs.Events {
		acked = acked || ev.Type == api.EventCheckpoint && ev.Message == "saved-on-term"
	}
	if !acked {
		t.Errorf("no checkpoint event saying saved-on-term in train's events: %+v", evs.Events)
	}

	tok := d.readFile("token.seen")
	if !strings.HasPrefix(tok, "carnotjob_") || strings.Contains(tok, d.Token) {
		t.Fatalf("the task's $CARNOT_TOKEN %.20q…: want its job token (carnotjob_…)", tok)
	}
	if strings.Contains(d.output(), tok[len("carnotjob_"):][:64]) {
		t.Errorf("the job token is in carnot dev's log")
	}
	// The attempt that token stood for is over: it is refused.
	cmd := exec.Command(carnotBin, "checkpoint", "train")
	cmd.Dir = d.Work
	cmd.Env = append(os.Environ(), "CARNOT_ADDR="+d.URL, "CARNOT_CA="+d.CA, "CARNOT_TOKEN="+tok)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "no longer holds") {
		t.Errorf("carnot checkpoint with the token of the attempt preempted: %v, %s; want refused, saying it no longer holds", err, out)
	}
}

// carnot checkpoint's line is what the server did, as the status of its
// answer says, against a real server: a running job's checkpoint is
// recorded (200); a job being stopped (cancelled here, with a grace its
// task spends ignoring SIGTERM) has its notice acknowledged (202); and
// while a partial preemption takes some of a deployment's replicas, the
// call that names a replica that stays ($CARNOT_REPLICA, as from its
// task) is recorded and the one that names a leaving replica
// acknowledges their notice. Run from outside the tasks, the command is
// not stopped with them and prints every line.
func TestCheckpointLineIsTheServers(t *testing.T) {
	d := startDev(t)
	ignoreTerm := sh(`trap '' TERM; sleep 300`)
	checkpoint := func(job string, replica int, wantPrefix string) {
		t.Helper()
		args := []string{"checkpoint", job, "-m", "saved"}
		if replica >= 0 {
			t.Setenv("CARNOT_JOB_ID", job) // as in the task's environment: the replica is named
			t.Setenv("CARNOT_REPLICA", strconv.Itoa(replica))
			args = []string{"checkpoint", "-m", "saved"}
		}
		out, err := d.carnot(args...)
		if err != nil || !strings.HasPrefix(out, wantPrefix) {
			t.Errorf("carnot %s (replica %d): %q, %v; want %q…", strings.Join(args, " "), replica, out, err, wantPrefix)
		}
	}

	d.submit(map[string]any{"id": "train", "gpus": 1, "checkpoint_grace": "60s", "command": ignoreTerm})
	d.waitFor("train's replica running", 30*time.Second, func() bool {
		j := d.job("train")
		return j.State == api.StateRunning && len(j.Replicas) == 1 && j.Replicas[0].State == api.ReplicaRunning
	})
	checkpoint("train", -1, "job train checkpoint recorded at ")
	if _, err := d.cl.CancelJob(t.Context(), "train"); err != nil {
		t.Fatal(err)
	}
	checkpoint("train", -1, "job train checkpoint acknowledged: cancelling, its replicas stop now")
	d.waitFinal("train", 30*time.Second) // not after its 60 s of grace

	d.submitDeployment(map[string]any{"id": "serve", "replicas": 4, "min_replicas": 2, "gpus": 1,
		"priority_class": "low", "checkpoint_grace": "60s", "command": ignoreTerm})
	d.waitFor("serve's 4 replicas running", 30*time.Second, func() bool {
		j := d.job("serve")
		n := 0
		for _, r := range j.Replicas {
			if r.State == api.ReplicaRunning {
				n++
			}
		}
		return j.State == api.StateRunning && n == 4
	})
	d.submit(map[string]any{"id": "urgent", "gpus": 1, "priority_class": "high", "command": sh("sleep 300")})
	leaving, stays := -1, -1
	d.waitFor("a replica of serve leaving for urgent", 30*time.Second, func() bool {
		leaving, stays = -1, -1
		for _, r := range d.job("serve").Replicas {
			switch {
			case r.StopBy != nil && !r.Released:
				leaving = r.Index
			case r.State == api.ReplicaRunning:
				stays = r.Index
			}
		}
		return leaving >= 0 && stays >= 0
	})
	checkpoint("serve", stays, "job serve checkpoint recorded at ")
	checkpoint("serve", leaving, "job serve checkpoint acknowledged: the replicas leaving for a partial preemption stop now")
	d.waitState("urgent", api.StateRunning, 30*time.Second) // not after the leaving replica's 60 s
}
