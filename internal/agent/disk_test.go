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
