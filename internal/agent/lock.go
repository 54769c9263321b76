package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/carnot-dc/carnot/internal/filelock"
)

// lockName is the file in the data directory whose lock an agent holds
// while it runs: a second agent on the same directory would take the
// first one's running tasks for leftovers of a dead agent and kill them.
const lockName = "agent.lock"

// lockDataDir takes the data directory's lock (filelock) for as long as
// the returned file is open. A directory another process holds is
// refused, naming that process.
func lockDataDir(dir string) (*os.File, error) {
	f, err := filelock.Lock(filepath.Join(dir, lockName))
	if held := (*filelock.HeldError)(nil); errors.As(err, &held) {
		return nil, fmt.Errorf("agent: data directory %s is in use by another agent (%v); give each agent its own --data-dir", dir, held)
	}
	if err != nil {
		return nil, fmt.Errorf("agent: data directory lock: %w", err)
	}
	return f, nil
}
