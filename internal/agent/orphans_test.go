package agent

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// An agent that inherits orphans (PID 1 of a container, or a child
// subreaper) reaps those that end while their task runs on, out of the
// task's group (a daemon that double-forked): zombies left to it would
// pile up for as long as the agent runs, each holding a PID.
func TestReapsOrphansThatEndWhileTheirTaskRuns(t *testing.T) {
	if os.Getenv(subreaperEnv) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestReapsOrphansThatEndWhileTheirTaskRuns$", "-test.v")
		cmd.Env = append(os.Environ(), subreaperEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("in a subreaper: %v\n%s", err, out)
		}
		return
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); e != 0 {
		t.Skipf("cannot become a child subreaper: %v", e)
	}
	srv := newFakeServer()
	startAgent(t, srv)
	dir := t.TempDir()
	stop := filepath.Join(dir, "stop")
	srv.assign(sh("j-orphan", 0, `(setsid sh -c 'echo $$ > "$DIR/orphan"; exec sleep 0.1' &)
while [ ! -e "$STOP" ]; do sleep 0.02; done`, map[string]string{"DIR": dir, "STOP": stop}))
	orphan := readPID(t, filepath.Join(dir, "orphan"))
	eventually(t, 3*time.Second, func() bool { return gone(orphan) },
		"the orphan %d that ended while its task runs to be reaped, not left a zombie", orphan)
	touch(t, stop)
	srv.waitStatus(t, "j-orphan", 0, 1, ended)
}
