package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// `carnot agent --fleet 20 --fake` joins a `carnot dev` with a join
// token: twenty virtual nodes register, and jobs submitted with the CLI
// run on them for their `sleep` time and succeed, or exit with FAKE_EXIT.
func TestFakeFleetRunsJobs(t *testing.T) {
	d := startDev(t)
	join, err := d.carnot("token", "create", "fleet", "--role", "join", "--site", "local", "--ttl", "10m")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(carnotBin, "agent", "--fleet", "20", "--fake", "--fake-gpus", "2", "--server", d.AdminURL, "--ca", d.CA,
		"--join-token", strings.TrimSpace(join), "--data-dir", t.TempDir(), "--site", "local", "--log-level", "debug")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cmd.Process.Signal(os.Interrupt)
			cmd.Wait()
		}
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("carnot agent --fleet output:\n%s", out.String())
		}
	})
	d.waitFor("20 fake nodes to be ready", 20*time.Second, func() bool {
		nl, err := d.cl.ListNodes(context.Background())
		if err != nil {
			return false
		}
		ready := 0
		for _, n := range nl.Nodes {
			if strings.HasPrefix(n.Name, "fake-") && n.Condition == api.NodeReady && n.FakeGPUs && n.GPUs == 2 {
				ready++
			}
		}
		return ready == 20
	})
	if _, err := d.carnot("drain", "node-1"); err != nil { // the dev server's own node: the jobs go to the fleet
		t.Fatal(err)
	}
	var ids []string
	for range 10 {
		o, err := d.carnot("run", "--gpus", "2", "-o", "json", "--", "sleep", "0.3")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, jobID(t, o))
	}
	o, err := d.carnot("run", "--gpus", "1", "--env", "FAKE_EXIT=3", "--env", "FAKE_DURATION=100ms", "-o", "json", "--", "python", "train.py")
	if err != nil {
		t.Fatal(err)
	}
	bad := jobID(t, o)
	for _, id := range ids {
		j := d.waitState(id, api.StateSucceeded, 20*time.Second)
		r := j.Replicas[0]
		if !strings.HasPrefix(r.Node, "fake-") || r.EndedAt.Sub(*r.StartedAt) < 300*time.Millisecond {
			t.Errorf("job %s: replica %+v; want 0.3 s on a fake node", id, r)
		}
	}
	if j := d.waitFinal(bad, 20*time.Second); j.State != api.StateFailed || j.ExitCode == nil || *j.ExitCode != 3 {
		t.Errorf("the job with FAKE_EXIT=3 is %s, exit code %v; want failed with 3", j.State, j.ExitCode)
	}
	stop()
	if !strings.Contains(out.String(), "a fake fleet of 20 nodes fake-0000…fake-0019 (site local") {
		t.Errorf("the fleet's banner is missing:\n%s", out.String())
	}
}

// jobID is the ID in `carnot run -o json`'s output.
func jobID(t *testing.T, out string) string {
	t.Helper()
	var j api.Job
	if err := json.Unmarshal([]byte(out), &j); err != nil || j.ID == "" {
		t.Fatalf("carnot run -o json printed %q: %v", out, err)
	}
	return j.ID
}

// The fleet's flags say what they need: --fake without --fleet, and
// --fleet without --fake, are refused before anything starts.
func TestFakeFleetFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"agent", "--fake"}, "need --fleet N (for one virtual node: --fleet 1)"},
		{[]string{"agent", "--fleet", "3"}, "add --fake"},
		{[]string{"agent", "--fleet", "3", "--fake", "--name", "n1"}, "--name does not apply to a fleet"},
	} {
		out, err := exec.Command(carnotBin, tc.args...).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), tc.want) {
			t.Errorf("carnot %s: %v\n%s\nwant exit status 2 and %q", strings.Join(tc.args, " "), err, out, tc.want)
		}
	}
}
