package agent

import (
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// withCgroups is a processes runtime whose tasks run in cgroups; the
// test is skipped, saying why, on a machine where the agent cannot make
// them (no writable cgroup v2 with cgroup.kill).
func withCgroups(t *testing.T, dir string) *processes {
	t.Helper()
	r := newProcesses(dir, 0, slog.New(slog.DiscardHandler))
	if err := r.useCgroups(CgroupsRequired); err != nil {
		t.Skipf("this machine gives the agent no cgroups: %v", err)
	}
	t.Cleanup(r.cg.close)
	return r
}

// escapeScript leaves the task every way a process can without cgroups:
// a session of its own (out of the process group) and an empty
// environment (without the task's mark).
const escapeScript = `setsid env -i sh -c 'exec sleep 300' &
echo $! > "$PIDS/escaped"
sleep 0.2
exit 0`

// A process that left the task's process group and cleared its
// environment is still in the task's cgroup: the task's end kills it,
// and the cgroup is removed.
func TestCgroupKillsAProcessThatLeftGroupAndMark(t *testing.T) {
	dir, pids := t.TempDir(), t.TempDir()
	r := withCgroups(t, dir)
	p, err := r.Start(sh("j-cg", 0, escapeScript, map[string]string{"PIDS": pids}))
	if err != nil {
		t.Fatal(err)
	}
	escaped := readPID(t, filepath.Join(pids, "escaped"))
	t.Cleanup(func() { _ = killPID(escaped) })
	cg := p.(*process).cg
	if cg == "" || !slices.Contains(cgroupProcs(cg), escaped) {
		t.Fatalf("the escaped process %d is not in the task's cgroup %q (%v)", escaped, cg, cgroupProcs(cg))
	}
	unmarked(t, escaped, p.(*process).mark)
	x := p.Wait()
	if x.Code != 0 || len(x.Outlived) > 0 {
		t.Fatalf("exit %+v, want code 0 and nothing outliving", x)
	}
	eventually(t, 5*time.Second, func() bool { return !alive(escaped) },
		"the process %d that left the task's group and mark to be killed at its end", escaped)
	if _, err := os.Stat(cg); !os.IsNotExist(err) {
		t.Errorf("the task's cgroup %s is still there after its end: %v", cg, err)
	}
}

// A stop's SIGKILL reaches the processes that left the task's group and
// mark, through its cgroup, while the main process still runs.
func TestCgroupStopKillsWhatLeft(t *testing.T) {
	dir, pids := t.TempDir(), t.TempDir()
	r := withCgroups(t, dir)
	p, err := r.Start(sh("j-cg-stop", 0, `setsid env -i sh -c 'exec sleep 300' &
echo $! > "$PIDS/escaped"
sleep 0.2
echo > "$PIDS/ready"
exec sleep 300`, map[string]string{"PIDS": pids}))
	if err != nil {
		t.Fatal(err)
	}
	escaped := readPID(t, filepath.Join(pids, "escaped"))
	t.Cleanup(func() { _ = killPID(escaped) })
	eventually(t, 5*time.Second, func() bool { _, err := os.Stat(filepath.Join(pids, "ready")); return err == nil },
		"the task to be ready")
	unmarked(t, escaped, p.(*process).mark)
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() bool { return !alive(escaped) },
		"the process %d that left the task's group and mark to be killed by the stop's SIGKILL", escaped)
	p.Wait()
}

// A previous agent died while its task's process that left the group
// and cleared its environment ran: the next agent finds it in the
// task's cgroup, recorded in groups.json, kills it and removes the
// cgroup.
func TestCgroupKillsLeftoversAfterACrash(t *testing.T) {
	dir, pids := t.TempDir(), t.TempDir()
	r := withCgroups(t, dir)
	p, err := r.Start(sh("j-cg-left", 0, escapeScript, map[string]string{"PIDS": pids}))
	if err != nil {
		t.Fatal(err)
	}
	escaped := readPID(t, filepath.Join(pids, "escaped"))
	t.Cleanup(func() { _ = killPID(escaped) })
	cg := p.(*process).cg
	// The agent dies as the main process ends: it is reaped (by init,
	// here by the test) and nothing clears its cgroup or its record.
	_ = p.(*process).cmd.Wait()
	if !alive(escaped) {
		t.Fatal("the escaped process ended on its own")
	}

	withCgroups(t, dir).killLeftovers()
	eventually(t, 5*time.Second, func() bool { return !alive(escaped) },
		"the previous task's process %d, out of its group and mark, to be killed through its cgroup", escaped)
	if _, err := os.Stat(cg); !os.IsNotExist(err) {
		t.Errorf("the previous task's cgroup %s is still there: %v", cg, err)
	}
}

// Only a task's cgroup, as an agent makes them, is ever killed from a
// record: groups.json naming another cgroup (the agent's own, a
// system's) is ignored.
func TestCgroupRecordNamingAnotherIsIgnored(t *testing.T) {
	for _, path := range []string{"", "relative/carnot-tasks/x", "/sys/fs/cgroup", "/sys/fs/cgroup/carnot-tasks/../system.slice",
		"/sys/fs/cgroup/system.slice/x"} {
		if isTaskCgroup(path) {
			t.Errorf("isTaskCgroup(%q) = true", path)
		}
	}
	// a plain directory named as a task's cgroup, with a cgroup.kill
	plain := filepath.Join(t.TempDir(), tasksCgroup, "0123456789abcdef", "task")
	if err := os.MkdirAll(plain, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(plain, "cgroup.kill"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if isTaskCgroup(plain) {
		t.Errorf("isTaskCgroup(%q, a plain directory) = true", plain)
	}
}

// An unknown Config.Cgroups is an error naming the values.
func TestCgroupsModeUnknown(t *testing.T) {
	r := newProcesses(t.TempDir(), 0, slog.New(slog.DiscardHandler))
	err := r.useCgroups("yes")
	if err == nil || err.Error() != `cgroups "yes": want auto, off or required` {
		t.Fatalf("err = %v", err)
	}
}

// mountinfo's escapes are undone in the cgroup2 mount's path.
func TestUnescapeMount(t *testing.T) {
	if got := unescapeMount(`/sys/fs/my\040cgroup`); got != "/sys/fs/my cgroup" {
		t.Fatalf("got %q", got)
	}
}

// The start-up probe tells a directory a process can be forked into from
// one it cannot: a plain directory is no cgroup.
func TestCgroupProbeRefusesAPlainDirectory(t *testing.T) {
	err := forkInto(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "fork a process into") {
		t.Fatalf("forkInto(a plain directory) = %v, want the fork's error", err)
	}
	r := withCgroups(t, t.TempDir())
	if err := forkInto(r.cg.dir); err != nil {
		t.Fatalf("forkInto(the agent's cgroup directory) = %v", err)
	}
}

// A task that ran in a cgroup reports the CPU time its processes used,
// those that ended before it included; one without a cgroup reports
// none.
func TestCgroupTaskReportsItsCPUTime(t *testing.T) {
	// a child that spins about 0.3 s of CPU and ends before the main
	// process, which then spins as much: both count
	const spin = `i=0; while [ $i -lt 60000 ]; do i=$((i+1)); done`
	script := "(" + spin + ") & wait; " + spin
	r := withCgroups(t, t.TempDir())
	p, err := r.Start(sh("j-cpu", 0, script, nil))
	if err != nil {
		t.Fatal(err)
	}
	x := p.Wait()
	if !x.CPUKnown || x.CPU <= 0 {
		t.Fatalf("exit %+v: no CPU time", x)
	}
	// the kernel's own count of the main process and the child it
	// waited for (wait4's rusage): the cgroup's must match it
	st := p.(*process).cmd.ProcessState
	rusage := st.UserTime() + st.SystemTime()
	if x.CPU < rusage*9/10 || x.CPU > rusage+20*time.Millisecond {
		t.Errorf("CPU %v in the cgroup, %v by the processes' own count", x.CPU, rusage)
	}
	t.Logf("CPU %v in the cgroup, %v by the processes' own count", x.CPU, rusage)

	off := newProcesses(t.TempDir(), 0, slog.New(slog.DiscardHandler))
	p, err = off.Start(sh("j-cpu", 0, "exit 0", nil))
	if err != nil {
		t.Fatal(err)
	}
	if x := p.Wait(); x.CPUKnown {
		t.Errorf("a task without a cgroup reported CPU %v", x.CPU)
	}
}

// The agent reports an ended task's CPU time in its status, as the
// server keeps it (api.TaskStatus.CPUSeconds).
func TestCgroupCPUTimeInTheEndedStatus(t *testing.T) {
	withCgroups(t, t.TempDir()) // skipped where there are none
	srv := newFakeServer()
	startAgent(t, srv)
	srv.assign(sh("j", 0, `i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done`, nil))
	st := srv.waitStatus(t, "j", 0, 1, ended)
	if st.CPUSeconds == nil || *st.CPUSeconds <= 0 {
		t.Fatalf("ended status %+v: no CPU time", st)
	}
}

// nestScript puts a process of the task in a cgroup it makes below its
// own (the task's cgroup is its user's, as the agent's), out of the
// task's session and environment: out of the task's cgroup.procs, still
// in its cgroup's tree. CGMOUNT is the cgroup2 mount.
const nestScript = `cg="$CGMOUNT$(sed -n 's/^0:://p' /proc/self/cgroup)"
mkdir "$cg/inner" || exit 1
setsid env -i sh -c 'echo $$ > "$1/inner/cgroup.procs" && exec sleep 300' sh "$cg" &
echo $! > "$PIDS/nested"
until grep -q '/inner$' /proc/$!/cgroup; do sleep 0.01; done
exit 0`

// nestedEnv is nestScript's environment; the test is skipped where the
// task cannot name its cgroup's path (a cgroup2 mount of another root).
func nestedEnv(t *testing.T, pids string) map[string]string {
	t.Helper()
	mount, root, err := cgroup2Mount()
	if err != nil || root != "/" {
		t.Skipf("the cgroup2 mount's root is %q (%v): the task cannot name its cgroup's path", root, err)
	}
	return map[string]string{"PIDS": pids, "CGMOUNT": mount}
}

// cleanNested kills nestScript's process, should a failure leave it, and
// removes the cgroups it was in.
func cleanNested(t *testing.T, pids, cg string) {
	t.Cleanup(func() {
		if b, err := os.ReadFile(filepath.Join(pids, "nested")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && killPID(pid) == nil {
				for i := 0; i < 300 && alive(pid); i++ {
					time.Sleep(10 * time.Millisecond)
				}
			}
		}
		_ = syscall.Rmdir(filepath.Join(cg, "inner"))
		_ = syscall.Rmdir(cg)
	})
}

// A process the task moved into a cgroup it made below its own is still
// the task's: its end kills it, waits for it, and removes both cgroups.
func TestCgroupEndKillsWhatATaskNestedBelowIt(t *testing.T) {
	dir, pids := t.TempDir(), t.TempDir()
	r := withCgroups(t, dir)
	p, err := r.Start(sh("j-cg-nest", 0, nestScript, nestedEnv(t, pids)))
	if err != nil {
		t.Fatal(err)
	}
	cg := p.(*process).cg
	cleanNested(t, pids, cg)
	x := p.Wait()
	nested := readPID(t, filepath.Join(pids, "nested"))
	if x.Code != 0 || len(x.Outlived) > 0 {
		t.Fatalf("exit %+v, want code 0 and nothing outliving", x)
	}
	if alive(nested) {
		t.Errorf("the task's end was reported while its process %d, in a cgroup below the task's, ran on", nested)
	}
	if _, err := os.Stat(cg); !os.IsNotExist(err) {
		t.Errorf("the task's cgroup %s is still there after its end: %v", cg, err)
	}
}

// The next agent after a crash kills what a task left in a cgroup below
// its own, and removes both.
func TestCgroupLeftoversNestedBelowATaskAreKilled(t *testing.T) {
	dir, pids := t.TempDir(), t.TempDir()
	r := withCgroups(t, dir)
	p, err := r.Start(sh("j-cg-nest-left", 0, nestScript, nestedEnv(t, pids)))
	if err != nil {
		t.Fatal(err)
	}
	cg := p.(*process).cg
	cleanNested(t, pids, cg)
	_ = p.(*process).cmd.Wait() // the agent died: nothing cleared the task
	nested := readPID(t, filepath.Join(pids, "nested"))
	if !alive(nested) {
		t.Fatal("the nested process ended on its own")
	}

	withCgroups(t, dir).killLeftovers()
	if alive(nested) {
		t.Errorf("the previous task's process %d, in a cgroup below the task's, runs on", nested)
	}
	if _, err := os.Stat(cg); !os.IsNotExist(err) {
		t.Errorf("the previous task's cgroup %s is still there: %v", cg, err)
	}
}

// A record naming a path that a symbolic link leads from a directory
// named as the agent's to another cgroup is no task's cgroup: what runs
// there is not killed.
func TestCgroupRecordThroughASymlinkIsIgnored(t *testing.T) {
	dir := t.TempDir()
	withCgroups(t, dir) // skipped where there are none
	mount, _, err := cgroup2Mount()
	if err != nil {
		t.Fatal(err)
	}
	// another cgroup (a system's), with a process in it
	other := filepath.Join(mount, "carnot-test-other-"+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Rmdir(other) })
	fd, err := openCgroup(other)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	victim := exec.Command("sleep", "300")
	victim.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = victim.Process.Kill(); _ = victim.Wait() })

	link := filepath.Join(t.TempDir(), tasksCgroup, "0123456789abcdef", "task")
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(other, link); err != nil {
		t.Fatal(err)
	}
	if isTaskCgroup(link) {
		t.Errorf("isTaskCgroup(%s, a link to %s) = true", link, other)
	}
	b, _ := json.Marshal([]group{{Task: "j/0/1", GPUs: []int{}, Cgroup: link}})
	if err := os.WriteFile(filepath.Join(dir, groupsFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	newProcesses(dir, 0, slog.New(slog.DiscardHandler)).killLeftovers()
	time.Sleep(100 * time.Millisecond)
	if victim.ProcessState != nil || !alive(victim.Process.Pid) {
		t.Errorf("the process in %s, which a record named through a link, was killed", other)
	}
}

// The agent's cgroup directory, empty while no task runs, removed by
// hand or by a tool that clears empty cgroups, is made again for the
// next task: it runs in a cgroup of its own.
func TestCgroupDirectoryRemovedIsMadeAgain(t *testing.T) {
	dir, pids := t.TempDir(), t.TempDir()
	r := withCgroups(t, dir)
	if err := syscall.Rmdir(r.cg.dir); err != nil {
		t.Fatal(err)
	}
	p, err := r.Start(sh("j-cg-again", 0, escapeScript, map[string]string{"PIDS": pids}))
	if err != nil {
		t.Fatalf("start once the agent's cgroup directory went: %v", err)
	}
	escaped := readPID(t, filepath.Join(pids, "escaped"))
	t.Cleanup(func() { _ = killPID(escaped) })
	if cg := p.(*process).cg; cg == "" || !slices.Contains(cgroupProcs(cg), escaped) {
		t.Errorf("the task's process %d is not in a cgroup of the task's (%q)", escaped, cg)
	}
	p.Wait()
	eventually(t, 5*time.Second, func() bool { return !alive(escaped) }, "the escaped process %d to be killed at the task's end", escaped)
}

// An agent with cgroups off, started after a crash of one that made
// them on the same data directory, kills what is left in the recorded
// cgroups and removes them, and the earlier agent's directory too.
func TestCgroupsOffAfterACrashLeavesNoCgroup(t *testing.T) {
	dir, pids := t.TempDir(), t.TempDir()
	r := withCgroups(t, dir)
	p, err := r.Start(sh("j-cg-off", 0, escapeScript, map[string]string{"PIDS": pids}))
	if err != nil {
		t.Fatal(err)
	}
	escaped := readPID(t, filepath.Join(pids, "escaped"))
	t.Cleanup(func() { _ = killPID(escaped) })
	_ = p.(*process).cmd.Wait() // the agent died

	startAgent(t, newFakeServer(), func(c *Config) { c.DataDir, c.Cgroups = dir, CgroupsOff })
	if alive(escaped) {
		t.Errorf("the previous task's process %d runs on", escaped)
	}
	for _, d := range []string{p.(*process).cg, r.cg.dir} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s is still there once the agent without cgroups started: %v", d, err)
		}
	}
}

// The cgroup of a crashed agent's task whose process outlived the next
// agent's SIGKILL (stuck in a driver) is removed once that process is
// gone, at the next agent's next task's end, as its own tasks' are.
func TestCgroupOfALeftoverOutlivingIsRemovedLater(t *testing.T) {
	dir, pids := t.TempDir(), t.TempDir()
	r := withCgroups(t, dir)
	p, err := r.Start(sh("j-cg-held", 0, `sleep 1000 & echo $! > "$PIDS/stuck"
while [ ! -e "$PIDS/go" ]; do sleep 0.01; done`, map[string]string{"PIDS": pids}))
	if err != nil {
		t.Fatal(err)
	}
	stuck := readPID(t, filepath.Join(pids, "stuck"))
	thaw := stuckInDriver(t, stuck)
	if err := os.WriteFile(filepath.Join(pids, "go"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_ = p.(*process).cmd.Wait() // the agent died
	cg := p.(*process).cg

	r2 := withCgroups(t, dir)
	r2.killLeftovers() // the stuck process outlives it
	if !alive(stuck) {
		t.Fatal("the stuck process did not outlive SIGKILL")
	}
	thaw()
	eventually(t, 5*time.Second, func() bool { return !alive(stuck) }, "the stuck process to end once thawed")
	q, err := r2.Start(sh("j-next", 0, "exit 0", nil))
	if err != nil {
		t.Fatal(err)
	}
	q.Wait()
	if _, err := os.Stat(cg); !os.IsNotExist(err) {
		t.Errorf("the previous task's cgroup %s is still there after a later task's end: %v", cg, err)
	}
}

// With cgroups required, a task whose cgroup cannot be made does not
// start, for a cause of the node's (its next attempts avoid the node),
// not of the agent's own files: that would report a disk error and stop
// the node taking work.
func TestCgroupRequiredTaskWithoutOneIsTheNodes(t *testing.T) {
	dir := t.TempDir()
	r := withCgroups(t, dir)
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r.cg.dir = filepath.Join(file, "agent") // no directory can be made there
	_, err := r.Start(sh("j-nocg", 0, "exit 0", nil))
	var se *StartError
	if !errors.As(err, &se) || se.Code != 126 || se.Agent || !se.Node {
		t.Fatalf("Start = %#v, want a StartError of code 126, the node's, not the agent's", err)
	}
	if !strings.Contains(se.Error(), "cgroup") {
		t.Errorf("error %q does not say it is the cgroup", se.Error())
	}
}
