package cli

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/client"
	"github.com/carnot-dc/carnot/internal/server"
)

// carnot checkpoint takes the job of the task it runs in
// ($CARNOT_JOB_ID) when given none, refuses to guess without either,
// and says what the server answered: here, against a real server, that
// a pending job has no attempt to checkpoint. (A running job's, from
// its own task, is in internal/e2e: TestCLICheckpointFromTheTask.)
func TestCheckpointCommandTakesTheTasksJob(t *testing.T) {
	t.Setenv(jobIDEnv, "")
	ts := openTenantServer(t, t.TempDir(), "", server.Config{DynamicNodes: true})
	tok, err := ts.s.MintToken(context.Background(), api.TokenRequest{Name: "m", Role: "member", Tenant: "default"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(ts.url, client.WithToken(tok.Secret))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SubmitJob(context.Background(), []byte(`{"id":"waits","tenant":"default","gpus":0,"cpus":1,"command":["train"]}`), ""); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--server", ts.url, "--token", tok.Secret}
	code, out, errOut := mainOut(append([]string{"checkpoint"}, flags...)...)
	if code != ExitUsage || !strings.Contains(errOut, "needs JOB, or $CARNOT_JOB_ID set") {
		t.Errorf("without JOB or $CARNOT_JOB_ID: exit %d, stdout %q, stderr %q; want a usage error naming both", code, out, errOut)
	}
	t.Setenv(jobIDEnv, "waits")
	code, out, errOut = mainOut(append([]string{"checkpoint", "-m", "step 10"}, flags...)...)
	if code != ExitFailure || !strings.Contains(errOut, "job waits is pending: it runs no attempt") {
		t.Errorf("$CARNOT_JOB_ID of a pending job: exit %d, stdout %q, stderr %q; want the server's 409", code, out, errOut)
	}
	code, _, errOut = mainOut(append([]string{"checkpoint", "nope"}, flags...)...)
	if code != ExitFailure || !strings.Contains(errOut, `no job "nope"`) {
		t.Errorf("a JOB given wins over $CARNOT_JOB_ID: exit %d, stderr %q; want the server's 404 for nope", code, errOut)
	}
}

// The line says what the server did, as the status of its answer
// tells (200: recorded; 202: acknowledged, stopping replicas at once),
// not as the job's fields would suggest: a deployment with replicas
// leaving whose checkpoint the server recorded (from a replica that
// stays) says recorded, and one it took as their acknowledgement says
// so, whatever replica was named. (Against a real server:
// internal/e2e, TestCheckpointLineIsTheServers.)
func TestCheckpointLine(t *testing.T) {
	at := time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC)
	leaving := []api.Replica{{Index: 0}, {Index: 1, StopBy: &at}}
	for _, c := range []struct {
		j      api.Job
		status int
		want   string
	}{
		{api.Job{ID: "a", State: api.StateRunning, LastCheckpoint: &at}, http.StatusOK, "job a checkpoint recorded at 2026-03-02T11:00:00Z"},
		{api.Job{ID: "a", State: api.StatePreempting, StopBy: &at}, http.StatusAccepted, "job a checkpoint acknowledged: preempting, its replicas stop now"},
		{api.Job{ID: "d", State: api.StateRunning, LastCheckpoint: &at, Replicas: leaving},
			http.StatusAccepted, "job d checkpoint acknowledged: the replicas leaving for a partial preemption stop now"},
		{api.Job{ID: "d", State: api.StateRunning, LastCheckpoint: &at, Replicas: leaving},
			http.StatusOK, "job d checkpoint recorded at 2026-03-02T11:00:00Z"},
		{api.Job{ID: "d", State: api.StateRunning}, http.StatusOK, "job d checkpoint recorded"},
		{api.Job{ID: "d", State: api.StateRunning}, http.StatusNoContent, "job d checkpoint sent (running)"},
	} {
		if got := checkpointLine(&c.j, c.status); got != c.want {
			t.Errorf("got %q\nwant %q", got, c.want)
		}
	}
}

// carnot describe shows a job's last checkpoint when it reported one,
// and no line when it did not.
func TestDescribeShowsLastCheckpoint(t *testing.T) {
	now := time.Date(2026, 3, 2, 11, 10, 0, 0, time.UTC)
	at := now.Add(-10 * time.Minute)
	for _, c := range []struct {
		ckpt *time.Time
		want string
	}{{&at, "Last checkpoint:  2026-03-02T11:00:00Z (10m ago)"}, {nil, ""}} {
		var b strings.Builder
		j := &api.Job{ID: "a", State: api.StateRunning, StartTime: &at, LastCheckpoint: c.ckpt}
		if err := describeJob(&b, now, j, nil); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(b.String(), "Last checkpoint:"); got != (c.want != "") || c.want != "" && !strings.Contains(b.String(), c.want) {
			t.Errorf("last checkpoint %v:\n%s\nwant %q", c.ckpt, b.String(), c.want)
		}
	}
}
