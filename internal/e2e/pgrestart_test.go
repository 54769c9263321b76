package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/client"
)

// privatePostgres starts a PostgreSQL of this test's own (so that
// restarting it disturbs no other test) and returns its URL and a
// function restarting it. It needs Debian's postgresql binaries and root
// (to run them as the postgres user), as CI has.
func privatePostgres(t *testing.T) (string, func()) {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 || os.Getuid() != 0 {
		t.Skip("needs PostgreSQL's server binaries and root (.ci/run installs them and runs as root)")
	}
	bin := filepath.Dir(bins[len(bins)-1])
	dir, err := os.MkdirTemp("", "carnot-pgr-")
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("runuser", append([]string{"-u", "postgres", "--"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	exec.Command("chown", "postgres", dir).Run()
	run(bin+"/initdb", "-D", dir+"/data", "-A", "trust", "-U", "postgres")
	port := freePort(t)
	_, p, _ := netSplit(port)
	opts := fmt.Sprintf("-p %s -k %s -c listen_addresses=127.0.0.1", p, dir)
	run(bin+"/pg_ctl", "-D", dir+"/data", "-w", "-l", dir+"/server.log", "-o", opts, "start")
	t.Cleanup(func() {
		exec.Command("runuser", "-u", "postgres", "--", bin+"/pg_ctl", "-D", dir+"/data", "-m", "immediate", "stop").Run()
		os.RemoveAll(dir)
	})
	restart := func() {
		run(bin+"/pg_ctl", "-D", dir+"/data", "-w", "-m", "fast", "-l", dir+"/server.log", "-o", opts, "restart")
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%s/postgres?sslmode=disable", p), restart
}

func netSplit(hostport string) (string, string, error) {
	for i := len(hostport) - 1; i >= 0; i-- {
		if hostport[i] == ':' {
			return hostport[:i], hostport[i+1:], nil
		}
	}
	return hostport, "", fmt.Errorf("no port in %q", hostport)
}

// PostgreSQL restarted under load: the server's commits fail while it is
// down, the server rebuilds itself from the database once it is back,
// without anyone's help, and every acknowledged submission exists and
// runs.
func TestPostgresRestartUnderLoad(t *testing.T) {
	db, restart := privatePostgres(t)
	dir := t.TempDir()
	// A lease longer than PostgreSQL's restart: a leader that cannot renew
	// its lease for a whole lease stops (by design; its process manager
	// restarts it), and a restart on a loaded CI machine took over the 2 s
	// of the failover tests' lease. What this test checks is the reload.
	r := startReplica(t, "solo", db, dir, "--lease-ttl", "15s")
	var tok string
	select {
	case tok = <-r.token:
	case <-time.After(30 * time.Second):
		t.Fatal("no bootstrap token")
	}
	d := &dev{t: t, CA: filepath.Join(dir, "tls", "ca.crt"), Token: tok}
	cl, err := client.New(r.url, client.WithToken(tok), client.WithTLS(d.tlsConfig()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	join, err := cl.CreateToken(ctx, api.TokenRequest{Name: "rack", Role: "join", Site: "local", TTLSeconds: 600})
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	agent := exec.Command(carnotBin, "agent", "--server", r.admin, "--ca", d.CA, "--join-token", join.Secret,
		"--name", "node-1", "--data-dir", filepath.Join(work, "agent"), "--fake-gpus", "8", "--log-level", "debug")
	var agentLog syncBuffer
	agent.Stdout, agent.Stderr = &agentLog, &agentLog
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		agent.Process.Kill()
		agent.Wait()
		if t.Failed() {
			t.Logf("agent output:\n%s", agentLog.String())
		}
	})
	load := submitContinuously(cl, "p", func(id string) []byte {
		return fmt.Appendf(nil, `{"id":%q,"tenant":"default","gpus":1,"command":["true"]}`, id)
	})
	time.Sleep(time.Second)
	restart()
	restarted := time.Now()
	time.Sleep(1500 * time.Millisecond)
	acked := load.stop()
	if len(acked) < 10 {
		t.Fatalf("only %d submissions acknowledged", len(acked))
	}
	end := time.Now().Add(60 * time.Second)
	for _, id := range acked {
		for {
			j, err := cl.GetJob(ctx, id)
			if err == nil && j.State == api.StateSucceeded {
				break
			}
			if time.Now().After(end) {
				t.Fatalf("job %s (acknowledged) not succeeded %s after PostgreSQL restarted: %+v, %v", id, time.Since(restarted), j, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Logf("%d submissions acknowledged around a PostgreSQL restart; all succeeded %s after it", len(acked), time.Since(restarted).Round(100*time.Millisecond))
}

// syncBuffer is a bytes.Buffer safe for a process's stdout and stderr
// together.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
