package e2e

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// Through carnot dev, on a machine where its agent makes cgroups: a
// job's process that left the task's session and cleared its
// environment is killed at the job's end (without cgroups it would run
// on), and the replica reports the CPU time its processes used.
func TestCgroupsHoldWhatATaskLeavesBehind(t *testing.T) {
	d := startDev(t)
	d.waitFor("the agent to say whether it uses cgroups", 20*time.Second, func() bool {
		out := d.output()
		return strings.Contains(out, "each task runs in a cgroup of its own") || strings.Contains(out, "tasks run without cgroups")
	})
	if out := d.output(); !strings.Contains(out, "each task runs in a cgroup of its own") {
		t.Skipf("the agent makes no cgroups on this machine; its log:\n%s", out)
	}
	j := d.submit(map[string]any{"gpus": 1, "command": sh(`setsid env -i sh -c 'echo $$ > escaped.pid; exec sleep 300' &
i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done
until [ -s escaped.pid ]; do sleep 0.01; done
exit 0`)})
	j = d.waitState(j.ID, api.StateSucceeded, 30*time.Second)
	pid, err := strconv.Atoi(strings.TrimSpace(d.readFile("escaped.pid")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	d.waitFor("the escaped process to be gone", 5*time.Second, func() bool {
		return syscall.Kill(pid, 0) == syscall.ESRCH
	})
	if c := j.Replicas[0].CPUSeconds; c == nil || *c <= 0 {
		t.Errorf("replica %+v: no CPU time", j.Replicas[0])
	}
}
