package agent

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Cgroups. Where the node has a cgroup v2 hierarchy the agent may write
// in, with cgroup.kill (Linux 5.14 and later), each task's processes
// run in a cgroup of their own, as Slurm's proctrack/cgroup and Nomad's
// executor run theirs: the task's main process is forked straight into
// it (clone3's CLONE_INTO_CGROUP, so there is no moment it runs
// outside), and every process it starts stays in it whatever it does
// (setsid, a cleared environment, another user, no longer dumpable), but
// for one that moves itself into another cgroup on purpose: as the
// agent's user, which tasks run as, it may write its PID into the
// agent's directory or the agent's own cgroup, that user's. At the
// task's end and at a stop's SIGKILL the whole cgroup is killed at once
// (cgroup.kill), and the task has ended once its cgroup is empty: the
// cgroups it made below its own (its user's) with it (cgroup.events). The
// process group and the environment mark (marks.go) still work beside
// it: they are what the agent has where cgroups are not.
//
// The tasks' cgroups are made in carnot-tasks/AGENT below the agent's
// own cgroup (/proc/self/cgroup), AGENT naming the agent's data directory
// (several agents may share a cgroup: a fleet, tests), each named by the
// task's mark, and removed once empty: at the task's end, or, when
// processes outlived its SIGKILL, at a later task's end after they are
// gone, or at the next agent's start. A systemd unit running the agent gives it its own
// cgroup to manage with Delegate=yes (docs/operations.md). The cgroup's
// path is recorded with the task's group (groups.json): an agent started
// after a crash of the previous one kills what is left in it.
//
// Config.Cgroups chooses: "auto" (the default) uses them where they
// work and says once, at the start, why not elsewhere; "off" never; and
// "required" refuses to start the agent without them.

// The values of Config.Cgroups.
const (
	CgroupsAuto     = "auto"
	CgroupsOff      = "off"
	CgroupsRequired = "required"
)

// tasksCgroup is the directory, below the agent's own cgroup, that holds
// the tasks' cgroups.
const tasksCgroup = "carnot-tasks"

// madeCgroups, a test hook, is told every agent's cgroup directory, for
// the tests to remove those their agents leave (an agent that never
// runs, or is killed, leaves its own). Nil outside tests.
var madeCgroups func(dir string)

// cgroups makes the tasks' cgroups in dir.
type cgroups struct {
	dir string // <cgroup2 mount>/<the agent's cgroup>/carnot-tasks/<agent>

	mu   sync.Mutex
	busy []string // ended tasks' cgroups that processes outliving SIGKILL kept (a dead agent's tasks' too)
}

// findCgroups prepares the cgroup directory of the tasks of the agent of
// dataDir below its own cgroup v2 and checks that a task's cgroup can be
// made and killed there; the error says why not.
func findCgroups(dataDir string) (*cgroups, error) {
	dir, err := cgroupsDir(dataDir)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("make %s: %w", d, err)
		}
	}
	c := &cgroups{dir: dir}
	if madeCgroups != nil {
		madeCgroups(dir)
	}
	probe, err := c.make("probe-" + strconv.Itoa(os.Getpid()))
	if err != nil {
		return nil, err
	}
	defer removeCgroup(probe)
	if _, err := os.Stat(filepath.Join(probe, "cgroup.kill")); err != nil {
		return nil, fmt.Errorf("%s has no cgroup.kill (Linux 5.14 or later has): %w", probe, err)
	}
	if err := forkInto(probe); err != nil {
		return nil, err
	}
	return c, nil
}

// cgroupsDir is the directory of the cgroups of the tasks of the agent of
// dataDir: carnot-tasks/AGENT below its own cgroup v2.
func cgroupsDir(dataDir string) (string, error) {
	mount, root, err := cgroup2Mount()
	if err != nil {
		return "", err
	}
	own, err := ownCgroup()
	if err != nil {
		return "", err
	}
	rel, ok := strings.CutPrefix(own, root)
	if !ok {
		return "", fmt.Errorf("the agent's cgroup %s is not below the cgroup2 mount's root %s", own, root)
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(mount, rel, tasksCgroup, hex.EncodeToString(sum[:8])), nil
}

// forkInto checks that a process can be forked into the cgroup at path:
// it forks one there to exec a program that does not exist, so that the
// exec's ENOENT says the fork into the cgroup worked, and any other
// error why it did not.
func forkInto(path string) error {
	fd, err := openCgroup(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(fd)
	_, err = syscall.ForkExec("/nonexistent/carnot-cgroup-probe", nil,
		&syscall.ProcAttr{Sys: &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}})
	if !errors.Is(err, syscall.ENOENT) {
		return fmt.Errorf("fork a process into %s: %v", path, err)
	}
	return nil
}

// make makes the cgroup of the task of mark, or finds it made. The
// agent's directory, empty while no task runs, is made again should it
// be gone (removed by hand, or by a tool that clears empty cgroups).
func (c *cgroups) make(mark string) (string, error) {
	name := strings.TrimPrefix(mark, markEnv+"=")
	path := filepath.Join(c.dir, name)
	err := os.Mkdir(path, 0o755)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(c.dir, 0o755); err == nil {
			err = os.Mkdir(path, 0o755)
		}
	}
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("make the task's cgroup: %w", err) // names it
	}
	return path, nil
}

// cgroup2Mount is where the cgroup v2 hierarchy is mounted
// (/proc/self/mountinfo) and the cgroup at its root (other than "/" in
// a cgroup namespace seen from outside).
func cgroup2Mount() (mount, root string, err error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if ok && len(f) >= 5 && len(g) >= 1 && g[0] == "cgroup2" {
			return unescapeMount(f[4]), unescapeMount(f[3]), nil
		}
	}
	return "", "", errors.New("no cgroup2 file system is mounted")
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ownCgroup is the agent's cgroup v2 ("0::PATH" in /proc/self/cgroup).
func ownCgroup() (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return p, nil
		}
	}
	return "", errors.New("the agent is in no cgroup v2 (/proc/self/cgroup)")
}

// openCgroup opens a cgroup's directory for CLONE_INTO_CGROUP.
func openCgroup(path string) (int, error) {
	return unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}

// killCgroup kills every process in the cgroup at path (cgroup.kill).
func killCgroup(path string) error {
	return os.WriteFile(filepath.Join(path, "cgroup.kill"), []byte("1"), 0)
}

// cgroupProcs is the processes in the cgroup at path and in the cgroups
// a task made below it (its own cgroup is its user's): those that have
// not exited (a zombie has left it). None when the cgroup is gone. A
// threaded cgroup lists none (its threaded domain lists them).
func cgroupProcs(path string) []int {
	var out []int
	b, err := os.ReadFile(filepath.Join(path, "cgroup.procs"))
	if err != nil && !errors.Is(err, syscall.EOPNOTSUPP) {
		return nil
	}
	for f := range strings.FieldsSeq(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 0 && !slices.Contains(out, pid) {
			out = append(out, pid)
		}
	}
	for _, sub := range subCgroups(path) {
		for _, pid := range cgroupProcs(sub) {
			if !slices.Contains(out, pid) {
				out = append(out, pid)
			}
		}
	}
	return out
}

// subCgroups is the cgroups right below the cgroup at path.
func subCgroups(path string) []string {
	ents, _ := os.ReadDir(path)
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, filepath.Join(path, e.Name()))
		}
	}
	return out
}

// cgroupPopulated reports whether a process is in the cgroup at path or
// below it (cgroup.events): what cgroupProcs cannot list (a threaded
// cgroup) included.
func cgroupPopulated(path string) bool {
	b, err := os.ReadFile(filepath.Join(path, "cgroup.events"))
	return err == nil && strings.Contains("\n"+string(b), "\npopulated 1")
}

// cgroupCPU is the CPU time, user and system, the processes of the
// cgroup at path have used, those ended included (cpu.stat's
// usage_usec, which cgroup v2 keeps without the cpu controller).
func cgroupCPU(path string) (time.Duration, bool) {
	b, err := os.ReadFile(filepath.Join(path, "cpu.stat"))
	if err != nil {
		return 0, false
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
			us, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil || us < 0 {
				return 0, false
			}
			return time.Duration(us) * time.Microsecond, true
		}
	}
	return 0, false
}

// removeCgroup removes an empty cgroup, with those a task made below it;
// one gone already is no error.
func removeCgroup(path string) error {
	for _, sub := range subCgroups(path) {
		_ = removeCgroup(sub)
	}
	if err := syscall.Rmdir(path); err != nil && !errors.Is(err, syscall.ENOENT) {
		return err
	}
	return nil
}

// release removes the cgroup of an ended task (untrack); one that
// processes outliving SIGKILL keep is removed later, by a later call once
// they are gone, or by the next agent (sweep). It also removes those
// kept before that are empty now.
func (c *cgroups) release(path string, log *slog.Logger) {
	c.mu.Lock()
	defer c.mu.Unlock()
	kept := c.busy[:0]
	for _, p := range append(c.busy, path) {
		switch err := removeCgroup(p); {
		case errors.Is(err, syscall.EBUSY):
			kept = append(kept, p)
		case err != nil:
			log.Warn("cannot remove a task's cgroup", "cgroup", p, "err", err)
		}
	}
	c.busy = kept
}

// sweep removes the empty cgroups of the agent's tasks: those of an
// earlier agent on the data directory, once its leftovers are killed.
// Only at the start, before any task of this agent's.
func (c *cgroups) sweep() {
	ents, _ := os.ReadDir(c.dir)
	for _, e := range ents {
		if e.IsDir() {
			_ = removeCgroup(filepath.Join(c.dir, e.Name()))
		}
	}
}

// sweepUnused removes, once empty, the cgroup directory an earlier agent
// on dataDir made (cgroups on, then a crash) when this one makes none
// (off, or they cannot be had now): nothing else would. Only at the
// start, once its leftovers are killed.
func sweepUnused(dataDir string) {
	if dir, err := cgroupsDir(dataDir); err == nil {
		_ = removeCgroup(dir)
	}
}

// close removes the agent's cgroup directory, once its tasks are over;
// one that processes outliving SIGKILL keep stays, for the next agent.
func (c *cgroups) close() {
	c.sweep()
	_ = removeCgroup(c.dir)
}

// isTaskCgroup reports whether path, read from groups.json, names a
// task's cgroup of an agent: a cgroup v2 in carnot-tasks/AGENT with a
// cgroup.kill, named without a symbolic link (one could lead from a
// directory named so to any cgroup). Nothing else recorded there is
// killed.
func isTaskCgroup(path string) bool {
	if path == "" || !filepath.IsAbs(path) || filepath.Clean(path) != path ||
		filepath.Base(filepath.Dir(filepath.Dir(path))) != tasksCgroup {
		return false
	}
	if real, err := filepath.EvalSymlinks(path); err != nil || real != path {
		return false
	}
	var st unix.Statfs_t
	if unix.Statfs(path, &st) != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
		return false
	}
	_, err := os.Stat(filepath.Join(path, "cgroup.kill"))
	return err == nil
}

// useCgroups sets the tasks' cgroups up as mode (Config.Cgroups) says;
// an error only when they are required and cannot be had.
func (r *processes) useCgroups(mode string) error {
	switch mode {
	case CgroupsOff:
		r.log.Info("tasks run without cgroups (cgroups off): a process that leaves the task's process group and clears its environment is not followed")
		return nil
	case "", CgroupsAuto, CgroupsRequired:
	default:
		return fmt.Errorf("cgroups %q: want %s, %s or %s", mode, CgroupsAuto, CgroupsOff, CgroupsRequired)
	}
	c, err := findCgroups(r.dataDir)
	switch {
	case err != nil && mode == CgroupsRequired:
		return fmt.Errorf("cgroups required, but the agent cannot make the tasks' cgroups: %w", err)
	case err != nil:
		r.log.Warn("tasks run without cgroups: the agent cannot make them here; a process that leaves the task's process group and clears its environment is not followed (cgroups=required refuses to start so)",
			"why", err)
		return nil
	}
	r.cg, r.cgNeeded = c, mode == CgroupsRequired
	r.log.Info("each task runs in a cgroup of its own", "dir", c.dir)
	return nil
}

// intoCgroup makes the task's cgroup and has cmd start in it; "" when
// the agent makes none. Without cgroups required, a cgroup that cannot
// be made leaves the task to run without one, with a warning.
func (r *processes) intoCgroup(cmd *exec.Cmd, mark string) (string, error) {
	if r.cg == nil {
		return "", nil
	}
	path, err := r.cg.make(mark)
	var fd int
	if err == nil {
		if fd, err = openCgroup(path); err != nil {
			_ = removeCgroup(path)
			err = fmt.Errorf("open the task's cgroup %s: %w", path, err)
		}
	}
	switch {
	case err != nil && r.cgNeeded:
		return "", err
	case err != nil:
		r.log.Warn("the task runs without a cgroup", "err", err)
		return "", nil
	}
	cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, fd
	return path, nil
}
