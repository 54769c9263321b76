package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/carnot-dc/carnot/internal/api"
)

// logFiles are a task's output files, open for the process to inherit.
type logFiles struct{ stdout, stderr *os.File }

// close closes the agent's copies; the process keeps its own.
func (l *logFiles) close() {
	l.stdout.Close()
	l.stderr.Close()
}

// command prepares a task's process: its log files, work directory,
// environment and executable, in a process group of its own.
func (a *Agent) command(spec api.Task) (*exec.Cmd, *logFiles, error) {
	if len(spec.Command) == 0 || spec.Command[0] == "" {
		return nil, nil, errors.New("the task has no command")
	}
	k := keyOf(spec)
	if err := os.MkdirAll(filepath.Dir(a.logPath(k, "stdout")), 0o700); err != nil {
		return nil, nil, fmt.Errorf("log directory: %w", err)
	}
	// Logs are readable by the agent's user only: they may hold a
	// tenant's data.
	stdout, err := os.OpenFile(a.logPath(k, "stdout"), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("log file: %w", err)
	}
	stderr, err := os.OpenFile(a.logPath(k, "stderr"), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		stdout.Close()
		return nil, nil, fmt.Errorf("log file: %w", err)
	}
	logs := &logFiles{stdout, stderr}
	dir := spec.WorkDir
	if dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			logs.close()
			return nil, nil, fmt.Errorf("work directory %s: not a directory (%v)", dir, err)
		}
	} else {
		dir = filepath.Join(a.cfg.DataDir, "work", sanitize(k.Job), strconv.Itoa(k.Attempt), strconv.Itoa(k.Replica))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			logs.close()
			return nil, nil, fmt.Errorf("work directory: %w", err)
		}
	}
	env := mergeEnv(taskBaseEnv(), spec.Env)
	cmd := exec.Command(spec.Command[0], spec.Command[1:]...)
	cmd.Path, cmd.Err = lookPath(spec.Command[0], env)
	cmd.Env, cmd.Dir = env, dir
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd, logs, nil
}

// logPath is where a task's stream (stdout or stderr) is written:
// DataDir/logs/<job>/<attempt>/<replica>.<stream>.
func (a *Agent) logPath(k taskKey, stream string) string {
	return filepath.Join(a.cfg.DataDir, "logs", sanitize(k.Job), strconv.Itoa(k.Attempt),
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

// mergeEnv is base with over's variables set; over wins.
// credentialEnv are the agent's credentials that may be in its
// environment: tasks never inherit them.
var credentialEnv = []string{"CARNOT_TOKEN", "CARNOT_JOIN_TOKEN"}

// taskBaseEnv is the agent's environment without its credentials: what
// tasks inherit.
func taskBaseEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(credentialEnv, name)
	})
}

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
	for _, dir := range filepath.SplitList(path) {
		if !filepath.IsAbs(dir) {
			continue // "" and "." would run a file of the work directory
		}
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return name, &exec.Error{Name: name, Err: exec.ErrNotFound}
}

// isNotFoundErr reports whether a start error means "no such command".
func isNotFoundErr(err error) bool {
	return errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist)
}
