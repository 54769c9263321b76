package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// An agent that cannot write its data directory failed every task at its
// start (126) and heartbeated as healthy, so the scheduler kept sending
// it work to fail. Its heartbeats now say why it cannot start tasks
// (api.Heartbeat.DiskError) until its data directory takes writes again.
func TestHeartbeatsSayTheDataDirectoryCannotBeWritten(t *testing.T) {
	srv := newFakeServer()
	var dir string
	startAgent(t, srv, func(c *Config) { dir = c.DataDir })
	blocker := filepath.Join(dir, startedFile+".tmp")
	if err := os.Mkdir(blocker, 0o700); err != nil { // the record of starts cannot be written
		t.Fatal(err)
	}
	srv.assign(sh("j-disk", 0, `echo hi`, nil))
	srv.waitStatus(t, "j-disk", 0, 1, func(s api.TaskStatus) bool { return s.State == api.ReplicaFailed })
	said := func() string {
		hbs := srv.heartbeats()
		return hbs[len(hbs)-1].DiskError
	}
	eventually(t, 5*time.Second, func() bool { return strings.Contains(said(), startedFile) }, "a heartbeat naming the file it cannot write")
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() bool { return said() == "" }, "heartbeats without the disk error once the directory takes writes")
}

// The tasks' default work directories are the agent's own files too
// (DataDir/work): when they cannot be
// made, every task without a workdir fails at its start, and the node
// must say so and take no new work, as for its logs. Before, the task
// failed (126) and the node heartbeated as healthy: a black hole.
func TestHeartbeatsSayTheWorkDirectoriesCannotBeMade(t *testing.T) {
	srv := newFakeServer()
	var dir string
	startAgent(t, srv, func(c *Config) { dir = c.DataDir })
	work := filepath.Join(dir, "work")
	if err := os.WriteFile(work, nil, 0o600); err != nil { // no directory can be made under it
		t.Fatal(err)
	}
	srv.assign(sh("j-work", 0, `echo hi`, nil))
	st := srv.waitStatus(t, "j-work", 0, 1, func(s api.TaskStatus) bool { return s.State == api.ReplicaFailed })
	if !strings.Contains(st.Error, "work directory") {
		t.Errorf("the task failed with %q, want the work directory named", st.Error)
	}
	said := func() string {
		hbs := srv.heartbeats()
		return hbs[len(hbs)-1].DiskError
	}
	eventually(t, 5*time.Second, func() bool { return strings.Contains(said(), "work directory") }, "a heartbeat saying the work directories cannot be made")
	if err := os.Remove(work); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() bool { return said() == "" }, "heartbeats without the disk error once work directories can be made")
}
