package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// follower is a `carnot run -f` or `carnot logs -f` the test runs in the
// background.
type follower struct {
	cmd         *exec.Cmd
	out, errOut syncBuffer
	done        chan error
}

func (f *faultCluster) follow(args ...string) *follower {
	f.t.Helper()
	p := &follower{cmd: exec.Command(carnotBin, args...), done: make(chan error, 1)}
	p.cmd.Env = append(os.Environ(), f.cli.env()...)
	p.cmd.Dir = f.work
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.errOut
	if err := p.cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	f.t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// wait returns the follower's exit code once it exits.
func (p *follower) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(within):
		t.Fatalf("%v still runs after %s; stdout %q, stderr %q", p.cmd.Args[1:], within, p.out.String(), p.errOut.String())
	}
	return -1
}

// restart stops the server with SIGTERM and starts it again on the same
// data directory and addresses.
func (s *crashServer) restart() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatal(err)
	}
	if err := s.cmd.Wait(); err != nil {
		s.t.Fatalf("server after SIGTERM: %v", err)
	}
	s.start()
}

// `carnot run -f` and `carnot logs -f` ride out a restart of the server
// while the job runs on: they reconnect, print each line of its output
// once, and run -f exits with the job's own exit code.
func TestFollowersRideOutAServerRestart(t *testing.T) {
	f := newFaultCluster(t, 1)
	gate := filepath.Join(f.work, "go")
	script := "echo one; while [ ! -e " + gate + " ]; do sleep 0.1; done; echo two; exit 3"
	run := f.follow("run", "-f", "--id", "rides", "--gpus", "1", "--", "sh", "-c", script)
	f.wait("run -f printing the first line", 30*time.Second, func() bool { return run.out.String() == "one\n" })
	logs := f.follow("logs", "-f", "rides")
	f.wait("logs -f printing the first line", 10*time.Second, func() bool { return logs.out.String() == "one\n" })

	f.srv.restart()
	for _, p := range []*follower{run, logs} {
		f.wait("a reconnection said", 20*time.Second, func() bool { return strings.Contains(p.errOut.String(), "reconnecting in") })
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code := run.wait(t, 60*time.Second); code != 3 || run.out.String() != "one\ntwo\n" || !strings.Contains(run.errOut.String(), "job rides failed") {
		t.Errorf("run -f: exit %d, stdout %q, stderr %q; want exit 3 and each line once", code, run.out.String(), run.errOut.String())
	}
	if code := logs.wait(t, 30*time.Second); code != 0 || logs.out.String() != "one\ntwo\n" {
		t.Errorf("logs -f: exit %d, stdout %q, stderr %q; want exit 0 and each line once", code, logs.out.String(), logs.errOut.String())
	}
	t.Logf("run -f said:\n%s", run.errOut.String())
}

// Ctrl-C (SIGINT) or SIGTERM stops `carnot run -f`, not the job: it says
// how to cancel or follow the job and exits 130 or 143, as a shell
// reports a command ended by that signal.
func TestRunFollowInterruptedLeavesTheJob(t *testing.T) {
	f := newFaultCluster(t, 1)
	for _, tc := range []struct {
		id   string
		sig  syscall.Signal
		code int
	}{{"left-int", syscall.SIGINT, 130}, {"left-term", syscall.SIGTERM, 143}} {
		id := tc.id
		run := f.follow("run", "-f", "--id", id, "--gpus", "1", "--", "sh", "-c", "echo up; exec sleep 300")
		f.wait(id+": run -f printing the first line", 30*time.Second, func() bool { return run.out.String() == "up\n" })
		if err := run.cmd.Process.Signal(tc.sig); err != nil {
			t.Fatal(err)
		}
		want := `carnot: job ` + id + ` keeps running; "carnot cancel ` + id + `" stops it, "carnot logs -f ` + id + `" follows it` + "\n"
		if code := run.wait(t, 10*time.Second); code != tc.code || !strings.HasSuffix(run.errOut.String(), want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and the line %q", tc.sig, code, run.errOut.String(), tc.code, want)
		}
		if j := f.job(id); j.State != "running" {
			t.Errorf("%s: the job is %s after run -f stopped; want it running", tc.sig, j.State)
		}
		if _, err := f.cl.CancelJob(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
}
