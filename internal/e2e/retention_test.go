package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/client"
)

// A gang's replica exits 0 early on one node while the other runs on
// another: the first node's agent, whose count and age limits would take
// a finished replica's logs at once, keeps them while the gang runs (the
// server names the job unfinished in its assignments), and deletes them
// once the gang finished.
func TestEarlyGangReplicaLogsKeptWhileTheGangRuns(t *testing.T) {
	f := newFaultCluster(t, 2, "--gc-max-tasks", "1", "--gc-max-age", "1ms", "--gc-interval", "100ms", "--gc-disk-percent", "-1")
	stop := filepath.Join(f.work, "stop")
	spec := fmt.Sprintf(`{"id":"early","tenant":"default","replicas":2,"gpus":2,`+
		`"command":["sh","-c","echo rank $CARNOT_REPLICA; [ $CARNOT_REPLICA = 0 ] && exit 0; while [ ! -e %s ]; do sleep 0.05; done"]}`, stop)
	if _, err := f.cl.SubmitJob(context.Background(), []byte(spec), ""); err != nil {
		t.Fatal(err)
	}
	f.wait("replica 0 ended, the gang running on", 20*time.Second, func() bool {
		j := f.job("early")
		return j.State == api.StateRunning && len(j.Replicas) == 2 && j.Replicas[0].State == api.ReplicaExited
	})
	if j := f.job("early"); j.Replicas[0].Node == j.Replicas[1].Node {
		t.Fatalf("the gang is on one node: %+v", j.Replicas)
	}
	// Another job's finished replica goes, as the limits say.
	if _, err := f.cl.SubmitJob(context.Background(), []byte(`{"id":"short","tenant":"default","gpus":0,"cpus":1,"command":["echo","short"]}`), ""); err != nil {
		t.Fatal(err)
	}
	f.wait("the other job's logs deleted", 20*time.Second, func() bool {
		return f.job("short").State == api.StateSucceeded && logsOf(t, f.cl, "short", 0) == "404"
	})
	time.Sleep(time.Second) // ten collections
	if got := logsOf(t, f.cl, "early", 0); got != "rank 0\n" {
		t.Fatalf("logs of the gang's replica that ended early, while the gang runs: %q, want %q", got, "rank 0\n")
	}
	if err := os.WriteFile(stop, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f.wait("the gang succeeded", 20*time.Second, func() bool { return f.job("early").State == api.StateSucceeded })
	f.wait("the finished gang's logs deleted", 20*time.Second, func() bool { return logsOf(t, f.cl, "early", 0) == "404" })
}

// logsOf is a replica's output, or "404" once its node deleted it.
func logsOf(t *testing.T, cl *client.Client, job string, replica int) string {
	t.Helper()
	rc, err := cl.Logs(context.Background(), job, client.LogOptions{Replica: replica})
	var p *api.Problem
	if errors.As(err, &p) && p.Status == http.StatusNotFound {
		return "404"
	}
	if err != nil {
		t.Fatalf("logs of %s replica %d: %v", job, replica, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
