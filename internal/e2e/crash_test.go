package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/client"
)

// freePort is a loopback address free now (to restart a server on the
// same address).
func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// crashServer is a `carnot server` on SQLite that the test kills with
// SIGKILL and starts again on the same data directory and addresses.
type crashServer struct {
	t                  *testing.T
	dir, listen, admin string
	cmd                *exec.Cmd
	token              chan string
	mu                 sync.Mutex
	out                strings.Builder
	flags              []string // more flags of carnot server
}

func (s *crashServer) start() {
	s.t.Helper()
	s.cmd = exec.Command(carnotBin, "server", "--data-dir", s.dir, "--listen", s.listen, "--admin-listen", s.admin,
		"--heartbeat", "200ms", "--heartbeat-timeout", "5s", "--log-level", "debug")
	s.cmd.Args = append(s.cmd.Args, s.flags...)
	stdout, _ := s.cmd.StdoutPipe()
	s.cmd.Stderr = writerFunc(func(p []byte) { s.mu.Lock(); s.out.Write(p); s.mu.Unlock() })
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if tok, ok := bootstrapToken(s.t, sc.Text()); ok {
				s.token <- tok
			}
			s.mu.Lock()
			s.out.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
		}
		io.Copy(io.Discard, stdout)
	}()
}

// load is clients submitting jobs until stopped.
type load struct {
	mu    sync.Mutex
	acked []string
	done  chan struct{}
	wg    sync.WaitGroup
}

// submitContinuously starts two clients submitting jobs PREFIXw-i (spec
// makes the body), each retried with its idempotency key until it is
// acknowledged.
func submitContinuously(cl *client.Client, prefix string, spec func(id string) []byte) *load {
	l := &load{done: make(chan struct{})}
	for w := range 2 {
		l.wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("%s%d-%d", prefix, w, i)
				for {
					select {
					case <-l.done:
						return
					default:
					}
					// The same key after a failure: the job is created once.
					if _, err := cl.SubmitJob(context.Background(), spec(id), "key-"+id); err == nil {
						l.mu.Lock()
						l.acked = append(l.acked, id)
						l.mu.Unlock()
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
	return l
}

// waitAcked waits until at least n submissions are acknowledged, failing
// the test with why after within.
func (l *load) waitAcked(t *testing.T, n int, within time.Duration, why string) {
	t.Helper()
	end := time.Now().Add(within)
	for got := l.acks(); got < n; got = l.acks() {
		if time.Now().After(end) {
			t.Fatalf("only %d submissions acknowledged after %s, want %d: %s", got, within, n, why)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// acks is how many submissions are acknowledged so far.
func (l *load) acks() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// stop stops the clients and returns the IDs of the acknowledged jobs.
func (l *load) stop() []string {
	close(l.done)
	l.wg.Wait()
	return l.acked
}

// startCrashServer starts a crashServer on fresh directories and
// addresses, stopped (and its output logged if t failed) when t ends, and
// returns it with its bootstrap token.
func startCrashServer(t *testing.T, flags ...string) (*crashServer, string) {
	t.Helper()
	s := &crashServer{t: t, dir: t.TempDir(), listen: freePort(t), admin: freePort(t), token: make(chan string, 1), flags: flags}
	s.start()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.kill()
		}
		if t.Failed() {
			s.mu.Lock()
			t.Logf("server output:\n%s", s.out.String())
			s.mu.Unlock()
		}
	})
	select {
	case tok := <-s.token:
		return s, tok
	case <-time.After(30 * time.Second):
		t.Fatal("no bootstrap token")
	}
	return nil, ""
}

func (s *crashServer) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
}

// The server is killed with SIGKILL at random moments, eight times,
// while clients submit continuously and an agent runs the jobs; after
// each restart on the same data directory the state converges: every
// submission the API acknowledged exists and succeeds, no job is started
// twice and no replica runs twice.
func TestCrashDuringSubmissions(t *testing.T) {
	s, tok := startCrashServer(t)
	d := &dev{t: t, CA: filepath.Join(s.dir, "tls", "ca.crt"), Token: tok}
	cl, err := client.New("https://"+s.listen, client.WithToken(tok), client.WithTLS(d.tlsConfig()), client.WithSubmitRetries(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	ops, err := client.New("https://"+s.admin, client.WithToken(tok), client.WithTLS(d.tlsConfig()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	join, err := ops.CreateToken(ctx, api.TokenRequest{Name: "rack", Role: "join", Site: "local", TTLSeconds: 3600})
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	runs := filepath.Join(work, "runs.log")
	agent := exec.Command(carnotBin, "agent", "--server", "https://"+s.admin, "--ca", d.CA, "--join-token", join.Secret,
		"--name", "node-1", "--data-dir", filepath.Join(work, "agent"), "--fake-gpus", "8")
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Process.Signal(syscall.SIGTERM); agent.Wait() })

	load := submitContinuously(cl, "c", func(id string) []byte {
		return fmt.Appendf(nil, `{"id":%q,"tenant":"default","gpus":1,"command":["sh","-c","echo \"$CARNOT_JOB_ID $CARNOT_REPLICA $CARNOT_ATTEMPT\" >> %s"]}`, id, runs)
	})
	r := rand.New(rand.NewPCG(1, 2))
	for range 8 {
		// Each server is killed at a random moment of its serving: the
		// delay counts from the first submission it acknowledged, not
		// from its start, which on a loaded machine took most of the
		// delay (the servers were killed before they served).
		load.waitAcked(t, load.acks()+1, 30*time.Second, "the restarted server acknowledges nothing")
		time.Sleep(time.Duration(200+r.IntN(600)) * time.Millisecond)
		s.kill()
		time.Sleep(time.Duration(r.IntN(300)) * time.Millisecond)
		s.start()
	}
	load.waitAcked(t, max(20, load.acks()+1), 30*time.Second, "the test exercised too little")
	time.Sleep(500 * time.Millisecond)
	acked := load.stop()
	n := len(acked)
	end := time.Now().Add(60 * time.Second)
	for _, id := range acked {
		for {
			j, err := cl.GetJob(ctx, id)
			if err == nil && api.Final(j.State) {
				if j.State != api.StateSucceeded || j.Attempt != 1 {
					t.Errorf("job %s: %s after %d attempts, want succeeded at the first", id, j.State, j.Attempt)
				}
				break
			}
			if time.Now().After(end) {
				t.Fatalf("job %s (acknowledged) not final in time: %+v, %v", id, j, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if n := startedEvents(t, cl, id); n != 1 {
			t.Errorf("job %s started %d times", id, n)
		}
	}
	b, _ := os.ReadFile(runs)
	seen := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		seen[l]++
	}
	for l, c := range seen {
		if c > 1 {
			t.Errorf("replica %q ran %d times", l, c)
		}
	}
	t.Logf("%d submissions acknowledged across 8 SIGKILLs; %d replicas ran, none twice", n, len(seen))
}
