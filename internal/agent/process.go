package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/carnot-dc/carnot/internal/api"
)

// processes is the default Runtime: each task is a process in a process
// group of its own, with its output in DataDir/logs (tasklog.go) and its
// work directory under DataDir/work. It records the groups it runs in
// DataDir/groups.json (see leftovers.go).
type processes struct {
	dataDir  string
	logMax   int64 // bytes of a log file before it is rotated; 0: never
	log      *slog.Logger
	inherits bool // orphans become the agent's children (orphans.go)
	// children is notified of SIGCHLD when inherits (orphans.go): a
	// child of the agent may have ended since reapOrphans last walked.
	children chan os.Signal

	mu     sync.Mutex
	groups map[string]group // the running tasks' groups, by mark

	// cg makes the tasks' cgroups (cgroup.go); nil without
	cg       *cgroups
	cgNeeded bool // Config.Cgroups is "required": a task without one does not start

	// startMu is held from a task's fork until its main process is
	// recorded (leads), and by every reap of a process by its PID
	// (reap, reapOrphans) from its check of leads to its wait: a PID
	// the agent took for an ended member of a task, free since, may be
	// a new task's main process, which only its Wait may reap.
	startMu sync.Mutex

	// groupGone bounds the wait for what is left of a task once its
	// main process ended (groupGoneWait; shorter in tests)
	groupGone time.Duration

	liveMu sync.Mutex
	live   map[string]*streamLog // the streams being written, by path

	// logFull is the last write of a task's log that failed for want of
	// room (streamLog.onFull), until the heartbeat takes it (takeLogFull)
	logFull atomic.Pointer[error]

	// afterExec, a test hook, runs right after a task's process (pid)
	// started and before anything else: the crash tests kill the agent
	// there. Nil outside tests.
	afterExec func(pid int)
}

func newProcesses(dataDir string, logMax int64, log *slog.Logger) *processes {
	r := &processes{dataDir: dataDir, logMax: logMax, log: log, inherits: inheritsOrphans(), groupGone: groupGoneWait,
		groups: map[string]group{}, live: map[string]*streamLog{}}
	if r.inherits {
		r.watchChildren()
	}
	return r
}

// openLog opens what is kept of a task's stream (stdout or stderr); it is
// fs.ErrNotExist when there is nothing.
func (r *processes) openLog(k taskKey, stream string) (*logView, error) {
	path := logPath(r.dataDir, k, stream)
	r.liveMu.Lock()
	src := r.live[path]
	r.liveMu.Unlock()
	v, err := openView(path, src)
	if err == nil && v.droppedUnknown {
		r.log.Warn("a task log's count of bytes dropped by rotation is torn: its offsets are served from the first byte kept",
			"file", path+droppedSuffix)
	}
	return v, err
}

// Start starts the task's process. Its mark is recorded before
// (leftovers.go); the reason it could not start is also written to its
// stderr log.
func (r *processes) Start(spec api.Task) (Process, error) {
	mark, name := newMark(), keyOf(spec).String()
	cmd, logs, err := r.command(spec, mark)
	var se *StartError
	if errors.As(err, &se) {
		return nil, se
	}
	if err != nil {
		return nil, &StartError{Code: 126, Err: fmt.Errorf("prepare: %w", err)}
	}
	fail := func(code int, err error, agent bool) (Process, error) {
		r.untrack(mark)
		logs.stderr.write(fmt.Appendf(nil, "carnot: cannot start %q: %v\n", spec.Command, err))
		logs.close()
		return nil, &StartError{Code: code, Err: err, Agent: agent}
	}
	cg, err := r.intoCgroup(cmd, mark)
	if err != nil {
		// cgroups required and none can be made for it: the node's
		// cause (its cgroup tree), which another node may not have, not
		// the agent's own files
		logs.stderr.write(fmt.Appendf(nil, "carnot: cannot start %q: %v\n", spec.Command, err))
		logs.close()
		return nil, &StartError{Code: 126, Err: err, Node: true}
	}
	if cmd.SysProcAttr.UseCgroupFD {
		defer unix.Close(cmd.SysProcAttr.CgroupFD) // the process is in it once started
	}
	if err := r.track(name, mark, cg, spec.GPUs, 0); err != nil {
		return fail(126, fmt.Errorf("record its process group in %s: %w", groupsFile, err), true)
	}
	r.startMu.Lock()
	if err := cmd.Start(); err != nil {
		r.startMu.Unlock()
		code := 126
		if isNotFoundErr(err) {
			code = 127
		}
		why, node := startError(cmd, spec.Command[0], err)
		r.untrack(mark)
		logs.stderr.write(fmt.Appendf(nil, "carnot: cannot start %q: %v\n", spec.Command, why))
		logs.close()
		return nil, &StartError{Code: code, Err: why, Node: node}
	}
	if r.afterExec != nil {
		r.afterExec(cmd.Process.Pid)
	}
	p := &process{r: r, cmd: cmd, name: name, mark: mark, cg: cg, logs: logs}
	r.note(name, mark, cg, spec.GPUs, p.PID())
	r.startMu.Unlock()
	logs.run(r)
	if err := r.writeGroups(); err != nil {
		r.log.Warn("cannot record the tasks' process groups", "err", err) // its mark is: it is found
	}
	return p, nil
}

// startError is why cmd, the task's program name, could not start, for
// the operator, and whether the cause is the node's (nodeCause). An exec
// that answers "no such file or directory" for a program that exists
// misses what runs it: the interpreter its #! line names (or that line
// ends in a carriage return, the script saved with Windows line ends),
// or a binary's dynamic loader; one that answers "permission denied"
// may find a directory, or a file without an execute bit; "argument
// list too long" is most often a large environment. The error says
// which.
func startError(cmd *exec.Cmd, name string, err error) (error, bool) {
	err = fmt.Errorf("start: %w", err)
	if errors.Is(err, syscall.E2BIG) {
		n := 0
		for _, s := range slices.Concat(cmd.Args, cmd.Env) {
			n += len(s) + 1
		}
		return fmt.Errorf("%w: the command and its environment are %d bytes, more than exec takes (ARG_MAX: a quarter of the stack limit, 2 MiB by default)", err, n), false
	}
	var nip *notInPath
	if errors.As(err, &nip) {
		if st, serr := os.Stat(filepath.Join(cmd.Dir, name)); cmd.Dir != "" && serr == nil && !st.IsDir() {
			// A file of the work directory, named as a command: the
			// job's mistake, on every node.
			return fmt.Errorf("%w; the work directory has a file %s: run it as ./%s", err, name, name), false
		}
		return err, true // not installed on this node
	}
	ownFile := !inWorkDir(name) // the program is the node's, not of the job's work directory
	enoent, eacces := errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.EACCES)
	if !enoent && !eacces {
		return err, ownFile && errors.Is(err, syscall.ENOEXEC) // a binary for another system
	}
	if _, serr := os.Stat(cmd.Dir); cmd.Dir != "" && serr != nil {
		return err, true // the work directory went (exec names the program alike)
	}
	path := cmd.Path
	if !filepath.IsAbs(path) && cmd.Dir != "" {
		path = filepath.Join(cmd.Dir, path) // as exec resolved it
	}
	if eacces {
		return deniedCause(path, err), ownFile
	}
	cause, why := missingCause(path, err)
	switch cause {
	case missingRunner:
		return why, true
	case badScript:
		return why, false
	}
	return why, ownFile
}

// inWorkDir reports whether the program name is a path relative to the
// task's work directory (./train.sh, bin/run): a file of the job's own,
// not of the node's (a bare name is looked up in PATH).
func inWorkDir(name string) bool {
	return strings.Contains(name, "/") && !filepath.IsAbs(name)
}

// deniedCause is err, exec's "permission denied" for the program at
// path, with what the agent can tell of why.
func deniedCause(path string, err error) error {
	st, serr := os.Stat(path)
	switch {
	case serr != nil:
		return err
	case st.IsDir():
		return fmt.Errorf("%w: it is a directory", err)
	case st.Mode()&0o111 == 0:
		return fmt.Errorf("%w: it is not executable (chmod +x?)", err)
	}
	return fmt.Errorf("%w (its file system mounted noexec? a directory on its path, or its #! interpreter, not open to the agent's user?)", err)
}

// What missingCause found missing.
const (
	missingProgram = iota // the program itself
	missingRunner         // what runs it: its #! interpreter, its dynamic loader
	badScript             // nothing: its #! line ends with a carriage return
)

// missingCause is what is missing (missingProgram when the program is
// not there) and err, exec's "no such file or directory" for the program
// at path, saying so when the program is there.
func missingCause(path string, err error) (int, error) {
	f, oerr := os.Open(path)
	if oerr != nil {
		return missingProgram, err // the error says so
	}
	defer f.Close()
	head := make([]byte, 256)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if rest, ok := bytes.CutPrefix(head, []byte("#!")); ok {
		line, _, _ := bytes.Cut(rest, []byte("\n"))
		if bytes.HasSuffix(line, []byte("\r")) {
			return badScript, fmt.Errorf("%w: its #! line ends with a carriage return (the script was saved with Windows line ends)", err)
		}
		if fields := strings.Fields(string(line)); len(fields) > 0 {
			return missingRunner, fmt.Errorf("%w: its interpreter %s (its #! line) is not on this node", err, fields[0])
		}
	}
	if bytes.HasPrefix(head, []byte("\x7fELF")) {
		return missingRunner, fmt.Errorf("%w: the program is there, but its dynamic loader is not on this node (a binary built for another system?)", err)
	}
	return missingProgram, err
}

// process is a task's process, the leader of its group.
//
// Its PID is the group's ID, which the agent signals: it must never be
// another process's. The kernel does not reuse a PID while its process
// is a zombie or while a group of that ID has members, so Wait leaves
// the ended leader a zombie until its group is cleared, and the group is
// never signalled once the leader is reaped (reaped): its PID may then
// be any process's, in a group of its own (PIDs wrap at pid_max, 32768
// in many containers).
type process struct {
	r    *processes
	cmd  *exec.Cmd
	name string
	mark string // in the environment of all of the task's processes (marks.go)
	cg   string // the task's cgroup (cgroup.go); "" without
	logs *logFiles

	mu     sync.Mutex // held while signalling the group and while reaping the leader
	reaped bool
}

func (p *process) PID() int { return p.cmd.Process.Pid }

// Signal sends sig to the process group; ESRCH once the leader is
// reaped. SIGKILL also goes to the task's processes that left the
// group; SIGTERM does not: the main process passes it on to those it
// started elsewhere (torchrun does), which would otherwise get it twice.
// A process of which SIGKILL's scan could not tell whether it carries
// the mark is looked at again, as at the task's end (lookAgain): SIGKILL
// may take undecidedWait to return.
func (p *process) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	err := error(syscall.ESRCH)
	if !p.reaped {
		err = syscall.Kill(-p.PID(), sig)
	}
	p.mu.Unlock()
	if sig != syscall.SIGKILL {
		return err
	}
	if p.cg != "" {
		// the task's cgroup holds all of it, marks or not: no process's
		// environment need be read (cgroup.go)
		if cgroupPopulated(p.cg) && killCgroup(p.cg) == nil {
			return nil
		}
		return err
	}
	window, killed := min(undecidedWait, p.r.groupGone), false
	undecided := p.r.lookForMarks([]string{p.mark}, window, func(found map[int]string) {
		if len(killIfStillMarked(slices.Collect(maps.Keys(found)), []string{p.mark})) > 0 {
			killed = true
		}
	})
	warnUndecided(p.r.log, "cannot tell whether processes out of the task's group carry its mark (in an exec, or their environment cannot be read): SIGKILL not sent to them",
		undecided, window, "task", p.name, "pgid", p.PID())
	if killed {
		return nil
	}
	return err
}

// Wait waits for the process to end, kills what is left of its group
// while the ended leader, not reaped yet, holds the group's ID, then
// reaps it.
func (p *process) Wait() Exit {
	held := waitExited(p.PID())
	if held != nil {
		p.r.log.Warn("cannot wait for the task's process to end without reaping it: its group is not killed, only its marked processes",
			"task", p.name, "pid", p.PID(), "err", held)
	}
	x := Exit{At: time.Now()} // with its monotonic reading: the agent compares it with its stops
	if held == nil {
		x.Outlived = p.clearGroup(true)
	}
	p.mu.Lock()
	p.reaped = true
	err := p.cmd.Wait()
	p.mu.Unlock()
	if held != nil {
		x.At = time.Now()
		x.Outlived = p.clearGroup(false)
	}
	p.logs.finish(p.r)
	if p.cg != "" {
		x.CPU, x.CPUKnown = cgroupCPU(p.cg) // before untrack removes it
	}
	if len(x.Outlived) > 0 {
		// Recorded (groups.json) until the agent recorded them
		// (outlived.json): the next agent finds them either way.
		x.Forget = sync.OnceFunc(func() { p.r.untrack(p.mark) })
	} else {
		p.r.untrack(p.mark)
	}
	st := p.cmd.ProcessState
	if st == nil {
		x.Err = err
		return x
	}
	ws, _ := st.Sys().(syscall.WaitStatus)
	x.Code = ws.ExitStatus()
	if ws.Signaled() {
		x.Code, x.Signal = 128+int(ws.Signal()), ws.Signal().String()
	}
	return x
}

// groupGoneWait bounds how long the agent waits, after a task's main
// process ended, for the rest of its process group to be gone.
const groupGoneWait = 5 * time.Second

// waitExited waits until the process pid, a child of the agent, has
// ended, and leaves it a zombie: its PID is not reused until it is
// reaped.
func waitExited(pid int) error {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// clearGroup kills what is left of the task's process group (its main
// process has ended and is a zombie, not reaped yet: the group's ID is
// not reused meanwhile) and of its processes that left the group, and
// waits until none remains, so that an ended task holds nothing on its
// GPUs. A process is gone once it is dead (zombies.go), whether its
// parent reaps it or not: init, usually, or the agent itself when it is
// PID 1 (of a container) or a child subreaper, which reaps those it
// killed; a parent that never reaps leaves a zombie that holds nothing.
// A process of which the scan could not tell whether it carries the
// mark (readMark: stuck in an exec, or its environment's read stuck) is
// looked at again, less often each time, for undecidedWait at most, and
// named in a warning should it stay so (lookAgain). After groupGoneWait the agent
// gives up and reports the task ended anyway. Without group (the leader
// could not be held), only the marked processes are. It returns those
// still there when it gave up.
func (p *process) clearGroup(group bool) []int {
	deadline := time.Now().Add(p.r.groupGone)
	window := min(undecidedWait, p.r.groupGone)
	look := newLookAgain(window) // for undecided processes alone
	killed := map[int]bool{}     // members of the group, and marked processes that left it
	pgid := 0
	if group {
		pgid = p.PID()
	}
	for {
		p.reap(killed)
		marks := []string{p.mark}
		if p.cg != "" {
			marks = nil // the task's cgroup holds all of it: no environment need be read
		}
		members, ended, marked, undecided := scanTask(pgid, marks...) // one walk of /proc for all
		if len(members) > 0 {
			_ = syscall.Kill(-p.PID(), syscall.SIGKILL)
		}
		left := killIfStillMarked(marked, marks)
		p.r.logStuckEnvirons()
		// the cgroup, with those the task made below it, until it is
		// empty (populated: cgroupProcs lists none in a threaded one)
		cgBusy := p.cg != "" && cgroupPopulated(p.cg)
		if cgBusy {
			_ = killCgroup(p.cg)
			for _, pid := range cgroupProcs(p.cg) {
				if !slices.Contains(members, pid) && !slices.Contains(left, pid) {
					left = append(left, pid)
				}
			}
		}
		for _, pid := range slices.Concat(members, ended, left) {
			killed[pid] = true
		}
		if len(members) == 0 && len(left) == 0 && !cgBusy {
			if look.wait(undecided) {
				continue
			}
			warnUndecided(p.r.log, "cannot tell whether processes out of the task's group carry its mark (in an exec, or their environment cannot be read): reporting the task ended without killing them",
				undecided, window, "task", p.name, "pgid", p.PID())
			p.reap(killed)
			return nil
		}
		if time.Now().After(deadline) {
			p.r.log.Warn("processes of the task's group outlive SIGKILL; reporting it ended anyway, its GPUs down while they are there",
				"task", p.name, "pgid", p.PID(), "pids", append(members, left...))
			return append(members, left...)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// reap reaps, without waiting, the agent's children among the ended
// task's processes in killed: its group's members and those that left
// it. The task's main process is not (Wait reaps it), nor is another
// task's.
func (p *process) reap(killed map[int]bool) {
	p.r.startMu.Lock()
	defer p.r.startMu.Unlock()
	var ws syscall.WaitStatus
	for pid := range killed {
		if pid != p.PID() && !p.r.leads(pid) {
			_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		}
	}
}

// logFiles are a task's output streams, and the write ends of their
// pipes for the process to inherit.
type logFiles struct {
	stdout, stderr *streamLog
	wout, werr     *os.File
}

func (r *processes) openLogFiles(k taskKey) (*logFiles, error) {
	if err := os.MkdirAll(filepath.Dir(logPath(r.dataDir, k, "stdout")), 0o700); err != nil {
		return nil, fmt.Errorf("log directory: %w", err)
	}
	// Logs are readable by the agent's user only: they may hold a
	// tenant's data.
	stdout, wout, err := newStreamLog(logPath(r.dataDir, k, "stdout"), r.logMax, r.log)
	if err != nil {
		return nil, err
	}
	stderr, werr, err := newStreamLog(logPath(r.dataDir, k, "stderr"), r.logMax, r.log)
	if err != nil {
		wout.Close()
		stdout.close()
		return nil, err
	}
	stdout.onFull, stderr.onFull = r.noteLogFull, r.noteLogFull
	return &logFiles{stdout: stdout, stderr: stderr, wout: wout, werr: werr}, nil
}

// noteLogFull records that a task's log could not be written for want
// of room; the next heartbeat takes it (takeLogFull).
func (r *processes) noteLogFull(err error) { r.logFull.Store(&err) }

// takeLogFull is the last failure noteLogFull recorded since the last
// call, nil for none.
func (r *processes) takeLogFull() error {
	if p := r.logFull.Swap(nil); p != nil {
		return *p
	}
	return nil
}

// run closes the agent's copies of the write ends (the process has its
// own) and copies the streams to their files.
func (l *logFiles) run(r *processes) {
	l.wout.Close()
	l.werr.Close()
	r.liveMu.Lock()
	for _, s := range []*streamLog{l.stdout, l.stderr} {
		r.live[s.path] = s
		go s.run()
	}
	r.liveMu.Unlock()
}

// finish waits until the task's output is written (logDrain at most).
func (l *logFiles) finish(r *processes) {
	for _, s := range []*streamLog{l.stdout, l.stderr} {
		s.drainFor(logDrain)
	}
	for _, s := range []*streamLog{l.stdout, l.stderr} {
		<-s.done
		r.liveMu.Lock()
		delete(r.live, s.path)
		r.liveMu.Unlock()
	}
}

// close ends streams that were never run (the process did not start).
func (l *logFiles) close() {
	l.wout.Close()
	l.werr.Close()
	l.stdout.close()
	l.stderr.close()
}

// command prepares a task's process: its log files, work directory,
// environment (with the task's mark, which the task cannot set) and
// executable, in a process group of its own.
func (r *processes) command(spec api.Task, mark string) (*exec.Cmd, *logFiles, error) {
	k := keyOf(spec)
	logs, err := r.openLogFiles(k)
	if err != nil {
		return nil, nil, &StartError{Code: 126, Err: fmt.Errorf("open its logs: %w", err), Agent: true}
	}
	refuse := func(err error) (*exec.Cmd, *logFiles, error) { // said in its stderr log too
		logs.stderr.write(fmt.Appendf(nil, "carnot: cannot start %q: prepare: %v\n", spec.Command, err))
		logs.close()
		return nil, nil, err
	}
	if len(spec.Command) == 0 || spec.Command[0] == "" {
		return refuse(errors.New("the task has no command"))
	}
	dir := spec.WorkDir
	if dir != "" {
		st, err := os.Stat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			_, _, err := refuse(fmt.Errorf("work directory %s does not exist on this node (a file system not mounted? a directory not created here?)", dir))
			return nil, nil, &StartError{Code: 126, Err: fmt.Errorf("prepare: %w", err), Node: true}
		case err != nil:
			return refuse(fmt.Errorf("work directory: %w", err)) // names it
		case !st.IsDir():
			_, _, err := refuse(fmt.Errorf("work directory %s is not a directory", dir))
			return nil, nil, &StartError{Code: 126, Err: fmt.Errorf("prepare: %w", err), Node: true}
		}
	} else {
		dir = filepath.Join(r.dataDir, "work", sanitize(k.Job), strconv.Itoa(k.Attempt), strconv.Itoa(k.Replica))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			// The agent's own files, as its logs: every task without a
			// workdir would fail alike (Agent: the node takes no work).
			_, _, err := refuse(fmt.Errorf("work directory: %w", err))
			return nil, nil, &StartError{Code: 126, Err: fmt.Errorf("prepare: %w", err), Agent: true}
		}
	}
	env := append(slices.DeleteFunc(mergeEnv(taskBaseEnv(), spec.Env), func(kv string) bool {
		return strings.HasPrefix(kv, markEnv+"=")
	}), mark)
	cmd := exec.Command(spec.Command[0], spec.Command[1:]...)
	cmd.Path, cmd.Err = lookPath(spec.Command[0], env)
	cmd.Env, cmd.Dir = env, dir
	cmd.Stdout, cmd.Stderr = logs.wout, logs.werr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd, logs, nil
}

// logPath is where a task's stream (stdout or stderr) is written:
// DataDir/logs/<job>/<attempt>/<replica>.<stream>.
func logPath(dataDir string, k taskKey, stream string) string {
	return filepath.Join(dataDir, "logs", sanitize(k.Job), strconv.Itoa(k.Attempt),
		strconv.Itoa(k.Replica)+"."+stream)
}

// sanitize makes a job ID safe as one path component: characters other
// than [A-Za-z0-9._-] become '_', and "." and ".." become underscores.
func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			b[i] = '_'
		}
	}
	out := string(b)
	if out == "" || out == "." || out == ".." {
		out = strings.Repeat("_", len(out)+1)
	}
	return out
}

// credentialEnv are the agent's credentials that may be in its
// environment: tasks never inherit them. A task's own, its job token, is
// set in its environment over them (taskEnv).
var credentialEnv = []string{tokenEnv, "CARNOT_JOIN_TOKEN"}

// taskBaseEnv is the agent's environment without its credentials: what
// tasks inherit.
func taskBaseEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(credentialEnv, name)
	})
}

// mergeEnv is base with over's variables set; over wins.
func mergeEnv(base []string, over map[string]string) []string {
	out := make([]string, 0, len(base)+len(over))
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		if _, ok := over[name]; !ok {
			out = append(out, kv)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(over)) {
		out = append(out, name+"="+over[name])
	}
	return out
}

// lookPath finds a command as the task's PATH (in env) would: a name with
// a slash is used as is, relative to the work directory.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	relative := false
	for _, dir := range filepath.SplitList(path) {
		if !filepath.IsAbs(dir) {
			relative = true
			continue // "" and "." would run a file of the work directory
		}
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return name, &notInPath{name: name, path: path, relative: relative}
}

// notInPath is a program lookPath did not find in the task's PATH. It
// names that PATH, which is the task's (its env, else the agent's): an
// operator reading the error cannot otherwise tell which was searched.
type notInPath struct {
	name, path string
	relative   bool // some entries were not searched, not being absolute
}

func (e *notInPath) Error() string {
	if e.path == "" {
		return fmt.Sprintf("%q is not found: the task's PATH is empty", e.name)
	}
	note := ""
	if e.relative {
		note = "; relative entries are not searched"
	}
	return fmt.Sprintf("%q is not in the task's PATH (%s%s)", e.name, e.path, note)
}

func (e *notInPath) Unwrap() error { return exec.ErrNotFound }

// isNotFoundErr reports whether a start error means "no such command".
func isNotFoundErr(err error) bool {
	return errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist)
}
