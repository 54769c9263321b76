package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
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
