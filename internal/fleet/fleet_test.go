package fleet

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/pki"
)

// 50 virtual nodes enroll and register, each with its own certificate,
// and are ready with their fake GPUs in the join token's site.
func TestFleetNodesRegister(t *testing.T) {
	s := startServer(t)
	dir := t.TempDir()
	f := s.start(s.config(50, dir))
	if f.Site() != "local" {
		t.Errorf("site %q, want the join token's, local", f.Site())
	}
	nl, err := s.admin.ListNodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ready := 0
	for _, n := range nl.Nodes {
		if !strings.HasPrefix(n.Name, "vn-") {
			t.Errorf("unexpected node %s", n.Name)
			continue
		}
		if n.Condition == api.NodeReady && n.Site == "local" && n.GPUs == 2 && n.GPUModel == "H100" && n.FakeGPUs {
			ready++
		} else {
			t.Errorf("node %+v", n)
		}
	}
	if ready != 50 {
		t.Fatalf("%d nodes ready, want 50", ready)
	}
	for _, name := range []string{"vn-0000", "vn-0049"} {
		cert, err := pki.LoadNode(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if site, node, err := pki.NodeIdentity(cert.Leaf); err != nil || site != "local" || node != name {
			t.Errorf("%s's certificate: site %q node %q %v", name, site, node, err)
		}
	}
	// Heartbeats keep the nodes ready (the server's timeout is 5 s; 50
	// beats every 100 ms).
	before := f.Stats().Heartbeats
	s.waitFor("heartbeats", 5*time.Second, func() bool { return f.Stats().Heartbeats >= before+200 })
}

// 200 jobs that each run 200 ms on 100 fake GPUs all succeed, every one
// on a node of the fleet; a job with FAKE_EXIT fails with that code.
func TestFleetRunsJobs(t *testing.T) {
	s := startServer(t)
	s.start(s.config(50, t.TempDir()))
	var ids []string
	for i := range 200 {
		spec := map[string]any{"gpus": 1, "command": []string{"sleep", "0.2"}}
		if i%2 == 1 {
			spec["command"] = []string{"python", "train.py"}
			spec["env"] = map[string]string{EnvDuration: "200ms"}
		}
		ids = append(ids, s.submit(spec))
	}
	bad := s.submit(map[string]any{"gpus": 1, "command": []string{"train"}, "env": map[string]string{EnvDuration: "50ms", EnvExit: "3"}})
	s.waitFor("200 jobs to succeed", 15*time.Second, func() bool {
		jobs := s.jobs()
		for _, id := range ids {
			if jobs[id].State != api.StateSucceeded {
				return false
			}
		}
		return api.Final(jobs[bad].State)
	})
	jobs := s.jobs()
	for _, id := range ids {
		j := jobs[id]
		if len(j.Replicas) != 1 || !strings.HasPrefix(j.Replicas[0].Node, "vn-") {
			t.Fatalf("job %s ran on %+v", id, j.Replicas)
		}
		r := j.Replicas[0]
		if r.StartedAt == nil || r.EndedAt == nil || r.EndedAt.Sub(*r.StartedAt) < 200*time.Millisecond {
			t.Errorf("job %s: replica ran from %v to %v, want at least 200 ms", id, r.StartedAt, r.EndedAt)
		}
	}
	if j := jobs[bad]; j.State != api.StateFailed || j.ExitCode == nil || *j.ExitCode != 3 {
		t.Errorf("the job with %s=3 is %s with exit code %v (%s), want failed with 3", EnvExit, j.State, j.ExitCode, j.Message)
	}
}

// A cancelled job's fake task ends as a process killed by SIGTERM, and
// the job is cancelled; a run longer than the runtime limit is cut at the
// deadline; a task without a duration but with a runtime limit runs until
// the limit and succeeds.
func TestFleetStopsTasks(t *testing.T) {
	s := startServer(t)
	f := s.start(s.config(2, t.TempDir()))
	forever := s.submit(map[string]any{"gpus": 1, "command": []string{"sleep", "infinity"}})
	limited := s.submit(map[string]any{"gpus": 1, "command": []string{"sleep", "60"}, "runtime_limit": 1})
	untilLimit := s.submit(map[string]any{"gpus": 1, "command": []string{"train"}, "runtime_limit": 1})
	s.waitFor("the job to run", 5*time.Second, func() bool { return s.job(forever).State == api.StateRunning })
	if _, err := s.admin.CancelJob(context.Background(), forever); err != nil {
		t.Fatal(err)
	}
	s.waitFor("the jobs to end", 10*time.Second, func() bool {
		return api.Final(s.job(forever).State) && api.Final(s.job(limited).State) && api.Final(s.job(untilLimit).State)
	})
	j := s.job(forever)
	if j.State != api.StateCancelled {
		t.Errorf("cancelled job is %s (%s)", j.State, j.Message)
	}
	if r := j.Replicas[0]; r.State != api.ReplicaExited || r.ExitCode == nil || *r.ExitCode != 143 || r.Signal != "terminated" {
		t.Errorf("cancelled job's replica: %+v, want exited 143 terminated", r)
	}
	j = s.job(limited)
	if r := j.Replicas[0]; j.State != api.StateFailed || r.Signal != "runtime-limit" {
		t.Errorf("job past its runtime limit is %s, replica %+v; want failed with signal runtime-limit", j.State, r)
	}
	j = s.job(untilLimit)
	if r := j.Replicas[0]; j.State != api.StateSucceeded || r.EndedAt.Sub(*r.StartedAt) < 900*time.Millisecond {
		t.Errorf("job without a duration is %s, replica %+v; want succeeded after its 1 s runtime limit", j.State, r)
	}
	if st := f.Stats(); st.Running != 0 || st.Succeeded != 1 || st.Failed != 2 {
		t.Errorf("stats %+v", st)
	}
}

// A fleet restarted on the same directory loads its nodes' certificates
// and the server's CA from it: no join token, no CA given. A node without
// a certificate and no join token is an error that says what to do.
func TestFleetRestartReusesCertificates(t *testing.T) {
	s := startServer(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	f, err := New(ctx, s.config(3, dir))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	<-f.Ready()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	crt, err := os.ReadFile(filepath.Join(dir, "vn-0002", pki.NodeCertFile))
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.config(3, dir)
	cfg.JoinToken, cfg.Roots = "", nil
	f = s.start(cfg)
	if st := f.Stats(); st.Registered != 3 {
		t.Errorf("stats %+v", st)
	}
	again, _ := os.ReadFile(filepath.Join(dir, "vn-0002", pki.NodeCertFile))
	if string(again) != string(crt) {
		t.Error("the restarted fleet enrolled vn-0002 again")
	}
	cfg.Nodes = 4
	if _, err := New(context.Background(), cfg); !errors.Is(err, ErrNoJoinToken) || !strings.Contains(err.Error(), "vn-0003") {
		t.Errorf("a fourth node without a join token: %v", err)
	}
}
