package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/client"
	"github.com/carnot-dc/carnot/internal/pki"
)

// carnotBin is the binary the tests run, built once by TestMain.
var carnotBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "carnot-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	carnotBin = filepath.Join(dir, "carnot")
	build := exec.Command("go", "build", "-o", carnotBin, "github.com/carnot-dc/carnot/cmd/carnot")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building carnot:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// dev is a running `carnot dev`.
type dev struct {
	t        testing.TB
	cmd      *exec.Cmd
	URL      string // the tenant API
	AdminURL string // the operator API
	Token    string // the development token (operator-admin)
	CA       string // the file of the CA that signed the server's certificate
	Dir      string // its data directory
	Work     string // a directory for the tests' jobs
	cl       *client.Client
	// wrapped says carnot runs under a wrapper command (strace): signals
	// go to carnot, the wrapper's child.
	wrapped bool
	mu      sync.Mutex
	log     strings.Builder
	done    chan struct{}
}

var serverLine = regexp.MustCompile(`server on (https://[0-9.:]+) \(operator API (https://[0-9.:]+)\),`)

// startDev starts `carnot dev` with 4 fake H100s and fast heartbeats.
func startDev(t testing.TB, extra ...string) *dev {
	t.Helper()
	return startDevUnder(t, nil, extra...)
}

// startDevUnder starts `carnot dev` as startDev does, run by the command
// wrapper (e.g. strace …) when one is given.
func startDevUnder(t testing.TB, wrapper []string, extra ...string) *dev {
	t.Helper()
	d := &dev{t: t, Dir: t.TempDir(), Work: t.TempDir(), done: make(chan struct{})}
	args := append([]string{"dev", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--data-dir", d.Dir, "--fake-gpus", "4",
		"--heartbeat", "200ms", "--heartbeat-timeout", "3s", "--name", "node-1", "--log-level", "debug"}, extra...)
	for i, a := range extra { // a later --data-dir wins: the files are there
		if a == "--data-dir" && i+1 < len(extra) {
			d.Dir = extra[i+1]
		}
	}
	d.wrapped = len(wrapper) > 0
	argv := append(append(append([]string{}, wrapper...), carnotBin), args...)
	d.cmd = exec.Command(argv[0], argv[1:]...)
	out, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d.cmd.Stderr = writerFunc(d.record)
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan []string, 1)
	go func() {
		defer close(d.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			d.record([]byte(sc.Text() + "\n"))
			if m := serverLine.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1:]
			}
		}
		io.Copy(io.Discard, out)
	}()
	t.Cleanup(d.stop)
	select {
	case u := <-urls:
		d.URL, d.AdminURL = u[0], u[1]
	case <-time.After(30 * time.Second):
		t.Fatalf("carnot dev did not print its address within 30 s:\n%s", d.output())
	}
	tok, err := os.ReadFile(filepath.Join(d.Dir, "token"))
	if err != nil {
		t.Fatal(err)
	}
	d.Token, d.CA = strings.TrimSpace(string(tok)), filepath.Join(d.Dir, "tls", "ca.crt")
	d.cl, err = client.New(d.AdminURL, client.WithToken(d.Token), client.WithTLS(d.tlsConfig()))
	if err != nil {
		t.Fatal(err)
	}
	d.waitFor("the node to be ready", 20*time.Second, func() bool {
		nl, err := d.cl.ListNodes(context.Background())
		return err == nil && len(nl.Nodes) == 1 && nl.Nodes[0].Condition == api.NodeReady
	})
	return d
}

// tlsConfig trusts the dev server's CA.
func (d *dev) tlsConfig() *tls.Config {
	pool, err := pki.LoadPool(d.CA)
	if err != nil {
		d.t.Fatal(err)
	}
	return pki.ClientConfig(pool, nil)
}

// env is what the CLI needs to reach the dev server.
func (d *dev) env() []string {
	return []string{"CARNOT_ADDR=" + d.URL, "CARNOT_ADMIN_ADDR=" + d.AdminURL, "CARNOT_TOKEN=" + d.Token, "CARNOT_CA=" + d.CA}
}

type writerFunc func([]byte)

func (f writerFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }

func (d *dev) record(p []byte) {
	d.mu.Lock()
	d.log.Write(p)
	d.mu.Unlock()
}

func (d *dev) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.String()
}

// stop sends SIGTERM and waits for the process; its output goes to the
// test log when the test failed.
func (d *dev) stop() {
	if d.cmd.Process == nil || d.cmd.ProcessState != nil {
		return
	}
	target := d.cmd.Process.Pid
	if d.wrapped {
		// The wrapper's child is carnot.
		pid := d.cmd.Process.Pid
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid)); err == nil {
			if f := strings.Fields(string(b)); len(f) > 0 {
				fmt.Sscan(f[0], &target)
			}
		}
	}
	syscall.Kill(target, syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- d.cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(40 * time.Second):
		d.cmd.Process.Kill()
		<-exited
		d.t.Errorf("carnot dev did not stop within 40 s of SIGTERM")
	}
	<-d.done
	if d.t.Failed() {
		d.t.Logf("carnot dev output:\n%s", d.output())
	}
}

// waitFor polls cond every 20 ms until it holds or the timeout passes.
func (d *dev) waitFor(what string, timeout time.Duration, cond func() bool) {
	d.t.Helper()
	end := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(end) {
			d.t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// submit posts a job spec (a map marshalled to JSON) and returns the job.
func (d *dev) submit(spec map[string]any) *api.Job {
	d.t.Helper()
	if _, ok := spec["tenant"]; !ok {
		spec["tenant"] = "default"
	}
	if _, ok := spec["workdir"]; !ok {
		spec["workdir"] = d.Work
	}
	b, _ := json.Marshal(spec)
	j, err := d.cl.SubmitJob(context.Background(), b, "")
	if err != nil {
		d.t.Fatalf("submit %s: %v", b, err)
	}
	return j
}

// job fetches a job.
func (d *dev) job(id string) *api.Job {
	d.t.Helper()
	j, err := d.cl.GetJob(context.Background(), id)
	if err != nil {
		d.t.Fatalf("get %s: %v", id, err)
	}
	return j
}

// waitState waits until job id is in state and returns it.
func (d *dev) waitState(id, state string, timeout time.Duration) *api.Job {
	d.t.Helper()
	var j *api.Job
	end := time.Now().Add(timeout)
	for {
		j = d.job(id)
		if j.State == state {
			return j
		}
		if api.Final(j.State) || time.Now().After(end) {
			d.t.Fatalf("job %s is %s (%s), want %s", id, j.State, j.Message, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sh is a /bin/sh -c command line.
func sh(script string) []string { return []string{"/bin/sh", "-c", script} }

// readFile reads a file of the work directory.
func (d *dev) readFile(name string) string {
	d.t.Helper()
	b, err := os.ReadFile(filepath.Join(d.Work, name))
	if err != nil {
		d.t.Fatal(err)
	}
	return string(b)
}

// alive reports whether a process exists.
func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// post sends an authenticated POST to the tenant API.
func (d *dev) post(path, body string) (*http.Response, error) {
	req, err := http.NewRequest("POST", d.URL+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+d.Token)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: d.tlsConfig()}}
	return hc.Do(req)
}

// bootstrapLine is what carnot server prints when it writes a bootstrap
// token, naming the file.
var bootstrapLine = regexp.MustCompile(`^bootstrap operator-admin token written to (.+) \(mode 0600\)`)

// bootstrapToken is the bootstrap token of the file line of a server's
// output names, if it is the line that says one was written.
func bootstrapToken(t testing.TB, line string) (string, bool) {
	m := bootstrapLine.FindStringSubmatch(line)
	if m == nil {
		return "", false
	}
	b, err := os.ReadFile(m[1])
	if err != nil {
		t.Errorf("the bootstrap token: %v", err)
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}
