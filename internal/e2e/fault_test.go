package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/client"
)

// faultCluster is a carnot server (SQLite) with node agents as processes
// of their own, for killing and pausing them.
type faultCluster struct {
	t       *testing.T
	srv     *crashServer
	cl, ops *client.Client
	join    string
	work    string
	agents  map[string]*exec.Cmd
	cli     *dev     // for running the carnot CLI against the server
	flags   []string // more flags of every `carnot agent`
}

// newFaultCluster starts the server and nodes agents, named node-1 to
// node-N, with the flags given besides those every agent gets.
func newFaultCluster(t *testing.T, nodes int, agentFlags ...string) *faultCluster {
	t.Helper()
	return newFaultClusterOf(t, nil, nodes, agentFlags...)
}

// newFaultClusterOf is newFaultCluster with more flags of carnot server.
func newFaultClusterOf(t *testing.T, serverFlags []string, nodes int, agentFlags ...string) *faultCluster {
	t.Helper()
	s, tok := startCrashServer(t, serverFlags...)
	f := &faultCluster{t: t, srv: s, work: t.TempDir(), agents: map[string]*exec.Cmd{}, flags: agentFlags}
	t.Cleanup(func() { // before the server's: cleanups run last first
		for _, a := range f.agents {
			a.Process.Signal(syscall.SIGCONT)
			a.Process.Signal(syscall.SIGTERM)
			a.Wait()
		}
	})
	d := &dev{t: t, CA: filepath.Join(s.dir, "tls", "ca.crt"), Token: tok,
		URL: "https://" + s.listen, AdminURL: "https://" + s.admin, Work: f.work}
	f.cli = d
	var err error
	if f.cl, err = client.New("https://"+s.listen, client.WithToken(tok), client.WithTLS(d.tlsConfig())); err != nil {
		t.Fatal(err)
	}
	if f.ops, err = client.New("https://"+s.admin, client.WithToken(tok), client.WithTLS(d.tlsConfig())); err != nil {
		t.Fatal(err)
	}
	j, err := f.ops.CreateToken(context.Background(), api.TokenRequest{Name: "rack", Role: "join", Site: "local", TTLSeconds: 3600})
	if err != nil {
		t.Fatal(err)
	}
	f.join = j.Secret
	for i := 1; i <= nodes; i++ {
		f.startAgent(fmt.Sprintf("node-%d", i))
	}
	for name := range f.agents {
		f.wait(name+" ready", 20*time.Second, func() bool { return f.condition(name) == api.NodeReady })
	}
	return f
}

func (f *faultCluster) startAgent(name string) { f.startAgentVia(name, f.srv.admin) }

// startAgentVia starts an agent that reaches the server at addr (a proxy
// of its admin listener).
func (f *faultCluster) startAgentVia(name, addr string) {
	f.t.Helper()
	a := exec.Command(carnotBin, "agent", "--server", "https://"+addr, "--ca", f.srv.dir+"/tls/ca.crt",
		"--join-token", f.join, "--name", name, "--data-dir", filepath.Join(f.work, name), "--fake-gpus", "2")
	a.Args = append(a.Args, f.flags...)
	if err := a.Start(); err != nil {
		f.t.Fatal(err)
	}
	f.agents[name] = a
}

func (f *faultCluster) condition(node string) string {
	n, err := f.ops.GetNode(context.Background(), node)
	if err != nil {
		return ""
	}
	return n.Condition
}

func (f *faultCluster) wait(what string, within time.Duration, cond func() bool) {
	f.t.Helper()
	end := time.Now().Add(within)
	for !cond() {
		if time.Now().After(end) {
			f.t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (f *faultCluster) job(id string) *api.Job {
	j, err := f.cl.GetJob(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return j
}

// pid reads the PID a task wrote to name in the work directory.
func (f *faultCluster) pid(name string) int {
	f.t.Helper()
	var pid int
	f.wait("the PID in "+name, 10*time.Second, func() bool {
		b, err := os.ReadFile(filepath.Join(f.work, name))
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	return pid
}

func startedEvents(t *testing.T, cl *client.Client, id string) int {
	evs, err := cl.Events(context.Background(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs.Events {
		if e.Type == api.EventStarted {
			n++
		}
	}
	return n
}

// An agent is killed (SIGKILL) under a gang spread over two nodes: its
// node becomes not ready after the heartbeat timeout, the whole gang is
// stopped (the surviving replica too) and queued again per its restart
// policy; when the agent comes back it kills what the dead one left and
// the gang's second attempt runs whole.
func TestAgentLossStopsTheGangWhole(t *testing.T) {
	f := newFaultCluster(t, 2)
	spec := fmt.Sprintf(`{"id":"gang","tenant":"default","replicas":2,"gpus":2,"restart":"on-failure","max_retries":2,`+
		`"command":["sh","-c","echo $$ > %s/gang-$CARNOT_REPLICA-$CARNOT_ATTEMPT.pid; exec sleep 300"]}`, f.work)
	if _, err := f.cl.SubmitJob(context.Background(), []byte(spec), ""); err != nil {
		t.Fatal(err)
	}
	f.wait("the gang running", 20*time.Second, func() bool { return f.job("gang").State == api.StateRunning })
	p0, p1 := f.pid("gang-0-1.pid"), f.pid("gang-1-1.pid")
	j := f.job("gang")
	lost := j.Replicas[1].Node
	survivor := map[string]int{j.Replicas[0].Node: p0, j.Replicas[1].Node: p1}
	delete(survivor, lost)
	f.agents[lost].Process.Signal(syscall.SIGKILL)
	f.agents[lost].Wait()
	killed := time.Now()
	f.wait(lost+" not ready", 15*time.Second, func() bool { return f.condition(lost) == api.NodeNotReady })
	t.Logf("%s not ready %s after its agent was killed (heartbeat timeout 5 s)", lost, time.Since(killed).Round(100*time.Millisecond))
	for _, pid := range survivor {
		waitGone(t, "the gang's replica on the surviving node", pid, 15*time.Second)
	}
	f.startAgent(lost) // kills what the dead agent left, registers again
	if lost == j.Replicas[1].Node {
		waitGone(t, "the dead agent's replica", p1, 15*time.Second)
	} else {
		waitGone(t, "the dead agent's replica", p0, 15*time.Second)
	}
	f.wait("the gang's second attempt running", 30*time.Second, func() bool {
		g := f.job("gang")
		return g.State == api.StateRunning && g.Attempt == 2
	})
	for _, name := range []string{"gang-0-2.pid", "gang-1-2.pid"} {
		if pid := f.pid(name); !alive(pid) {
			t.Errorf("%s: the second attempt's replica is not alive", name)
		}
	}
	if n := startedEvents(t, f.cl, "gang"); n != 2 {
		t.Errorf("the gang was started %d times, want twice (one per attempt)", n)
	}
}

// A partition: an agent stops reaching the server (SIGSTOP) while its
// task keeps running. The server declares the node not ready and runs the
// job's next attempt elsewhere; when the agent comes back (SIGCONT) the
// server's view wins: the agent kills its orphan, one replica runs.
func TestPartitionedAgentKillsItsOrphan(t *testing.T) {
	f := newFaultCluster(t, 2)
	spec := fmt.Sprintf(`{"id":"part","tenant":"default","gpus":2,"restart":"on-failure","max_retries":2,`+
		`"command":["sh","-c","echo $$ > %s/part-$CARNOT_ATTEMPT.pid; exec sleep 300"]}`, f.work)
	if _, err := f.cl.SubmitJob(context.Background(), []byte(spec), ""); err != nil {
		t.Fatal(err)
	}
	f.wait("the job running", 20*time.Second, func() bool { return f.job("part").State == api.StateRunning })
	first := f.pid("part-1.pid")
	node := f.job("part").Replicas[0].Node
	f.agents[node].Process.Signal(syscall.SIGSTOP)
	f.wait("the second attempt running on the other node", 30*time.Second, func() bool {
		j := f.job("part")
		return j.State == api.StateRunning && j.Attempt == 2 && j.Replicas[0].Node != node
	})
	if !alive(first) {
		t.Fatalf("the partitioned node's task died during the partition; it should run on")
	}
	second := f.pid("part-2.pid")
	f.agents[node].Process.Signal(syscall.SIGCONT)
	waitGone(t, "the orphan on the partitioned node after it reconnected", first, 20*time.Second)
	if !alive(second) {
		t.Errorf("the second attempt died when the partitioned node came back")
	}
	f.wait(node+" ready again", 15*time.Second, func() bool { return f.condition(node) == api.NodeReady })
	if j := f.job("part"); j.Attempt != 2 || j.State != api.StateRunning {
		t.Errorf("after the partition: %+v, want attempt 2 running", j)
	}
	if n := startedEvents(t, f.cl, "part"); n != 2 {
		t.Errorf("the job was started %d times, want twice", n)
	}
}
