package agent

import (
	"bytes"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// lockedBuffer is a bytes.Buffer safe for the agent's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A task's environment holds its own job token as $CARNOT_TOKEN, never
// the agent's token, and the tenant API's address and CA the agent is
// configured to give tasks, over those of the agent's environment; a
// task the server handed no token (an older server) gets none. The
// token is in none of the agent's logs, debug included.
func TestTaskGetsItsJobToken(t *testing.T) {
	t.Setenv("CARNOT_TOKEN", "carnot_agents_own_token")
	t.Setenv("CARNOT_ADDR", "https://agent-env:7460")
	t.Setenv("CARNOT_CA", "/agent/env/ca.crt")
	var logs lockedBuffer
	srv := newFakeServer()
	a := startAgent(t, srv, func(c *Config) {
		c.TaskServer, c.TaskCA = "https://cp.example:7460", "/etc/carnot/ca.crt"
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	script := `echo "token=$CARNOT_TOKEN addr=$CARNOT_ADDR ca=$CARNOT_CA"`
	with := sh("j-1", 0, script, map[string]string{"CARNOT_JOB_ID": "j-1"})
	with.Token = "carnotjob_secret-of-attempt-1"
	without := sh("j-2", 0, script, map[string]string{"CARNOT_JOB_ID": "j-2"})
	srv.assign(with, without)
	for job, want := range map[string]string{
		"j-1": "token=carnotjob_secret-of-attempt-1 addr=https://cp.example:7460 ca=/etc/carnot/ca.crt",
		"j-2": "token= addr=https://cp.example:7460 ca=/etc/carnot/ca.crt",
	} {
		if st := srv.waitStatus(t, job, 0, 1, ended); st.State != api.ReplicaExited {
			t.Fatalf("%s: %+v", job, st)
		}
		if _, out := getLog(t, a, "job="+job+"&attempt=1&replica=0"); strings.TrimSpace(out) != want {
			t.Errorf("%s's environment: %q; want %q", job, out, want)
		}
	}
	if strings.Contains(logs.String(), "secret-of-attempt-1") {
		t.Errorf("the job token is in the agent's log:\n%s", logs.String())
	}
}

// The job token is on no file of the agent's data directory (its record
// of the tasks it started, the process groups, the task's logs and work
// directory), while the task runs and once it has ended: the agent keeps
// a task's key, never its spec.
func TestJobTokenIsNotOnDisk(t *testing.T) {
	srv := newFakeServer()
	dir := t.TempDir()
	startAgent(t, srv, func(c *Config) { c.DataDir = dir })
	tk := sh("j-1", 0, `sleep 0.3`, nil)
	tk.Token = "carnotjob_secret-of-attempt-1"
	srv.assign(tk)
	scan := func(when string) {
		t.Helper()
		n := 0
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			n++
			if bytes.Contains(b, []byte("secret-of-attempt-1")) {
				t.Errorf("%s: the job token is in %s: %q", when, path, b)
			}
			return nil
		})
		if err != nil || n == 0 {
			t.Fatalf("%s: %d files read in the data directory: %v", when, n, err)
		}
	}
	srv.waitStatus(t, "j-1", 0, 1, running)
	scan("while the task runs")
	srv.waitStatus(t, "j-1", 0, 1, ended)
	scan("once it has ended")
}
