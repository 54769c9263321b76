package agent

import (
	"os"
	"sync"
	"testing"
)

// TestMain removes the cgroup directories the tests' agents made and
// left (cgroup.go): those of agents that never ran or were killed, and
// of tasks whose processes outlived the agent.
func TestMain(m *testing.M) {
	var mu sync.Mutex
	dirs := map[string]bool{}
	madeCgroups = func(dir string) {
		mu.Lock()
		dirs[dir] = true
		mu.Unlock()
	}
	code := m.Run()
	for dir := range dirs {
		(&cgroups{dir: dir}).close()
	}
	os.Exit(code)
}
