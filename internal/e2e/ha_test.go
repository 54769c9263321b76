package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/client"
)

// haDatabase creates an empty database on the test PostgreSQL server
// and returns its URL; it is dropped when t ends.
func haDatabase(t *testing.T) string {
	t.Helper()
	base := os.Getenv("CARNOT_TEST_POSTGRES")
	if base == "" {
		t.Skip("CARNOT_TEST_POSTGRES is not set (.ci/run starts a PostgreSQL and sets it)")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("CARNOT_TEST_POSTGRES: %v", err)
	}
	name := fmt.Sprintf("carnot_ha_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)")
		conn.Close(ctx)
	})
	u, _ := url.Parse(base)
	u.Path = "/" + name
	return u.String()
}

// replicaProc is a running `carnot server` replica.
type replicaProc struct {
	name, url, admin string
	cmd              *exec.Cmd
	mu               sync.Mutex
	out              strings.Builder
	token            chan string
}

var replicaLine = regexp.MustCompile(`tenant API on (https://[0-9.:]+), operator API on (https://[0-9.:]+)`)

func startReplica(t *testing.T, name, db, dir string, flags ...string) *replicaProc {
	t.Helper()
	r := &replicaProc{name: name, token: make(chan string, 1)}
	args := append([]string{"server", "--postgres", db, "--data-dir", dir, "--replica-name", name,
		"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--lease-ttl", "2s",
		"--heartbeat", "200ms", "--heartbeat-timeout", "3s", "--log-level", "debug"}, flags...) // the last of a flag given twice counts
	r.cmd = exec.Command(carnotBin, args...)
	stdout, _ := r.cmd.StdoutPipe()
	r.cmd.Stderr = writerFunc(func(p []byte) { r.mu.Lock(); r.out.Write(p); r.mu.Unlock() })
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			r.mu.Lock()
			r.out.WriteString(line + "\n")
			r.mu.Unlock()
			if m := replicaLine.FindStringSubmatch(line); m != nil {
				urls <- m[1:]
			}
			if tok, ok := bootstrapToken(t, line); ok {
				r.token <- tok
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	t.Cleanup(func() {
		if r.cmd.ProcessState == nil {
			r.cmd.Process.Kill()
			r.cmd.Wait()
		}
		if t.Failed() {
			r.mu.Lock()
			t.Logf("replica %s output:\n%s", r.name, r.out.String())
			r.mu.Unlock()
		}
	})
	select {
	case u := <-urls:
		r.url, r.admin = u[0], u[1]
	case <-time.After(30 * time.Second):
		t.Fatalf("replica %s did not print its addresses", name)
	}
	return r
}

// Three replicas on one PostgreSQL: one leads, the others forward the
// API to it; the leader is killed (SIGKILL) while a job runs; another
// replica takes the lease and schedules within 10 s; the running job is
// neither lost nor started again, and no job is placed twice.
func TestHAFailover(t *testing.T) {
	db := haDatabase(t)
	dir := t.TempDir()
	r1 := startReplica(t, "r1", db, dir) // first: makes the keys and the CA
	var tok string
	select {
	case tok = <-r1.token:
	case <-time.After(30 * time.Second):
		t.Fatal("r1 printed no bootstrap token")
	}
	r2 := startReplica(t, "r2", db, dir)
	r3 := startReplica(t, "r3", db, dir)
	reps := []*replicaProc{r1, r2, r3}
	ca := filepath.Join(dir, "tls", "ca.crt")
	d := &dev{t: t, CA: ca, Token: tok}
	all := func(admin bool) string {
		var a []string
		for _, r := range reps {
			if admin {
				a = append(a, r.admin)
			} else {
				a = append(a, r.url)
			}
		}
		return strings.Join(a, ",")
	}
	// Through a standby: r2's tenant listener forwards to the leader.
	via, err := client.New(r2.url, client.WithToken(tok), client.WithTLS(d.tlsConfig()))
	if err != nil {
		t.Fatal(err)
	}
	ops, err := client.New(all(true), client.WithToken(tok), client.WithTLS(d.tlsConfig()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	join, err := ops.CreateToken(ctx, api.TokenRequest{Name: "rack", Role: "join", Site: "local", TTLSeconds: 600})
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	agent := exec.Command(carnotBin, "agent", "--server", all(true), "--ca", ca, "--join-token", join.Secret,
		"--name", "node-1", "--data-dir", filepath.Join(work, "agent"), "--fake-gpus", "4", "--log-level", "debug")
	var agentOut strings.Builder
	var agentMu sync.Mutex
	agent.Stdout = writerFunc(func(p []byte) { agentMu.Lock(); agentOut.Write(p); agentMu.Unlock() })
	agent.Stderr = agent.Stdout
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		agent.Process.Signal(syscall.SIGTERM)
		agent.Wait()
		if t.Failed() {
			agentMu.Lock()
			t.Logf("agent output:\n%s", agentOut.String())
			agentMu.Unlock()
		}
	})
	wait := func(what string, within time.Duration, cond func() bool) {
		t.Helper()
		end := time.Now().Add(within)
		for !cond() {
			if time.Now().After(end) {
				t.Fatalf("%s: not within %s", what, within)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	wait("node-1 ready", 20*time.Second, func() bool {
		n, err := ops.GetNode(ctx, "node-1")
		return err == nil && n.Condition == api.NodeReady
	})
	pidFile, tokFile := filepath.Join(work, "long.pid"), filepath.Join(work, "long.token")
	long, err := via.SubmitJob(ctx, fmt.Appendf(nil, `{"id":"long","tenant":"default","gpus":1,"command":["sh","-c","echo $$ >> %s; printf %%s \"$CARNOT_TOKEN\" > %s; exec sleep 300"]}`, pidFile, tokFile), "k-long")
	if err != nil {
		t.Fatal(err)
	}
	wait("the long job running", 20*time.Second, func() bool {
		j, err := via.GetJob(ctx, long.ID)
		return err == nil && j.State == api.StateRunning
	})
	var jobTok string
	wait("the long job's task wrote its job token", 20*time.Second, func() bool {
		b, _ := os.ReadFile(tokFile)
		jobTok = string(b)
		return strings.HasPrefix(jobTok, "carnotjob_")
	})
	checkpoint := func(urls, when string) {
		t.Helper()
		task, err := client.New(urls, client.WithToken(jobTok), client.WithTLS(d.tlsConfig()))
		if err != nil {
			t.Fatal(err)
		}
		if _, status, err := task.Checkpoint(ctx, long.ID, api.CheckpointAck{Message: when}); err != nil || status != 200 {
			t.Errorf("the long job's checkpoint with its task's job token %s: %d, %v; want 200", when, status, err)
		}
	}
	checkpoint(r2.url, "before the failover")
	leader := leaderOf(t, d, reps)
	leader.cmd.Process.Signal(syscall.SIGKILL)
	leader.cmd.Wait()
	killed := time.Now()
	var rest []*replicaProc
	for _, r := range reps {
		if r != leader {
			rest = append(rest, r)
		}
	}
	after, err := client.New(rest[0].url+","+rest[1].url, client.WithToken(tok), client.WithTLS(d.tlsConfig()))
	if err != nil {
		t.Fatal(err)
	}
	var next *api.Job
	wait("a submission accepted after the leader died", 15*time.Second, func() bool {
		next, err = after.SubmitJob(ctx, []byte(`{"id":"after","tenant":"default","gpus":1,"command":["true"]}`), "k-after")
		return err == nil
	})
	wait("the job submitted after the failover to start", 15*time.Second, func() bool {
		j, err := after.GetJob(ctx, next.ID)
		return err == nil && j.State != api.StatePending
	})
	failover := time.Since(killed)
	t.Logf("failover: a new leader scheduled %s after the leader was killed", failover.Round(time.Millisecond))
	if failover > 10*time.Second {
		t.Errorf("failover took %s, want ≤ 10 s", failover)
	}
	time.Sleep(4 * time.Second) // past the heartbeat timeout: the node must still be ready
	j, err := after.GetJob(ctx, long.ID)
	if err != nil || j.State != api.StateRunning || j.Attempt != 1 {
		t.Errorf("the long job after the failover: %+v, %v; want still running, attempt 1", j, err)
	}
	if n := startedEvents(t, after, long.ID); n != 1 {
		t.Errorf("the long job was started %d times, want once", n)
	}
	// The attempt's start, a part of its job token's MAC, is the one the
	// next leader reads back from PostgreSQL: the token still holds.
	checkpoint(rest[0].url+","+rest[1].url, "after the failover")
	b, _ := os.ReadFile(pidFile)
	if n := len(strings.Fields(string(b))); n != 1 {
		t.Errorf("the long job's process ran %d times, want once", n)
	}
	// The log says who led when: the first leader, then the new one
	// naming it.
	evs, err := after.AllEvents(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var leads []string
	for _, ev := range evs.Events {
		if ev.Type == api.EventLeader {
			leads = append(leads, ev.Message)
		}
	}
	if len(leads) != 2 || !strings.HasPrefix(leads[0], leader.name+" (instance ") ||
		!strings.Contains(leads[1], "; "+leader.name+" (instance ") || strings.HasPrefix(leads[1], leader.name+" ") {
		t.Errorf("leader events %q; want %s's, then the next leader's naming %s", leads, leader.name, leader.name)
	}
}

// leaderOf finds the replica that leads: standbys answer the node
// agents' routes 503 (api.StandbyHeader), the leader 401 to a caller
// without a node certificate.
func leaderOf(t *testing.T, d *dev, reps []*replicaProc) *replicaProc {
	t.Helper()
	for _, r := range reps {
		c, err := client.New(r.admin, client.WithTLS(d.tlsConfig()))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Register(context.Background(), api.Register{})
		var p *api.Problem
		if errors.As(err, &p) && p.Status == 503 {
			continue // a standby
		}
		return r // the leader answers 401: no node certificate
	}
	t.Fatal("no leader among the replicas")
	return nil
}
