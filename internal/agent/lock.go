package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockName is the file in the data directory whose lock an agent holds
// while it runs: a second agent on the same directory would take the
// first one's running tasks for leftovers of a dead agent and kill them.
const lockName = "agent.lock"

// lockDataDir takes an exclusive lock on the data directory for as long
// as the returned file is open (the kernel drops it when the process
// exits, killed or not) and writes the process's ID into it. A directory
// another process holds is refused, naming that process.
func lockDataDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("agent: data directory lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			pid := strings.TrimSpace(string(holder))
			if pid == "" {
				pid = "unknown"
			}
			return nil, fmt.Errorf("agent: data directory %s is in use by another agent (pid %s holds %s); "+
				"give each agent its own --data-dir", dir, pid, path)
		}
		return nil, fmt.Errorf("agent: data directory lock: %w", err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}
