package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A task reports its checkpoints with carnot checkpoint, the job taken
// from its environment ($CARNOT_JOB_ID), the server's address and CA by
// flags and its token read from a file, as docs/operations.md says: while the job runs the server records the
// time (last_checkpoint), with no event; once it is preempted, the same
// command in its SIGTERM trap acknowledges the notice, recorded as an
// event with its note.
func TestCLICheckpointFromTheTask(t *testing.T) {
	d := startDev(t)
	if err := os.WriteFile(filepath.Join(d.Work, "carnot-token"), []byte(d.Token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	report := `CARNOT_TOKEN=$(cat carnot-token) "$BIN" checkpoint --server "$SERVER" --ca "$SERVER_CA" -m "$1" > "$2.out" 2>&1; echo $? > "$2.code"`
	script := `ckpt() { ` + report + `; }
trap 'ckpt saved-on-term ack; exit 0' TERM
ckpt "step 1" routine
sleep 120 & wait`
	// a job's env may not name CARNOT_ variables: the address and the CA
	// go by flags
	env := map[string]string{"BIN": carnotBin, "SERVER": d.URL, "SERVER_CA": d.CA}
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
}
