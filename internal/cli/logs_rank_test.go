package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// carnot logs without --replica asked for replica 0, which a deployment
// that replaced it no longer runs: its output was the old replica's (or
// a 404 once the record dropped it). It now asks for the replica of rank
// 0; --replica still names one by its index.
func TestLogsDefaultsToTheReplicaOfRankZero(t *testing.T) {
	f := newFake(t)
	start := time.Now().Add(-time.Hour)
	one := 1
	f.jobs = []api.Job{{ID: "d", Kind: "deployment", Tenant: "lab-a", State: api.StateRunning,
		Spec: json.RawMessage(`{"replicas":2,"gpus":1}`), SubmitTime: start, StartTime: &start, Attempt: 1,
		Replicas: []api.Replica{
			{Index: 0, Rank: 0, Node: "n1", GPUs: []int{0}, State: api.ReplicaExited, ExitCode: &one, StartedAt: &start, Released: true},
			{Index: 1, Rank: 1, Node: "n1", GPUs: []int{1}, State: api.ReplicaRunning, StartedAt: &start},
			{Index: 2, Rank: 0, Node: "n2", GPUs: []int{0}, State: api.ReplicaRunning, StartedAt: &start},
		}}}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"logs", "d"}, "replica=2"},
		{[]string{"logs", "--replica", "0", "d"}, "replica=0"},
	} {
		before := len(f.requests("GET", "/v1/jobs/d/logs"))
		code, out, errs := carnot(append(c.args, "--server", f.srv.URL)...)
		if code != 0 || !strings.Contains(out, "step 1") {
			t.Fatalf("carnot %s: exit %d, %q, %q", strings.Join(c.args, " "), code, out, errs)
		}
		reqs := f.requests("GET", "/v1/jobs/d/logs")
		if len(reqs) != before+1 || !strings.Contains(reqs[len(reqs)-1].query, c.want) {
			t.Errorf("carnot %s: log requests %+v; want one with %s", strings.Join(c.args, " "), reqs[before:], c.want)
		}
	}
}
