package agent

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// freezerRoot is where a cgroup v1 freezer hierarchy is mounted; "" when
// none is.
func freezerRoot() string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ID parent major:minor root mount-point options ... - type source super-options
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, after := strings.Fields(pre), strings.Fields(post)
		if ok && len(fields) >= 5 && len(after) >= 3 && after[0] == "cgroup" &&
			slices.Contains(strings.Split(after[2], ","), "freezer") {
			return fields[4]
		}
	}
	return ""
}

// stuckInDriver freezes processes pids in a cgroup of their own (the
// cgroup v1 freezer): they then take no signal, SIGKILL included, until
// thawed, and /proc says they are in uninterruptible sleep (D), as a
// process stuck in a GPU driver's call is, the one that outlives SIGKILL
// for real. The test is skipped without a v1 freezer hierarchy the test
// may write to (root). thaw lets them go (they end then if they were
// killed meanwhile); the test's end does too, and kills them.
func stuckInDriver(t *testing.T, pids ...int) (thaw func()) {
	t.Helper()
	root := freezerRoot()
	if root == "" {
		t.Skip("no cgroup v1 freezer to hold a process through SIGKILL with")
	}
	dir := filepath.Join(root, fmt.Sprintf("carnot-test-%d-%d", os.Getpid(), pids[0]))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("cannot make a freezer cgroup (not root?): %v", err)
	}
	write := func(file, s string) error { return os.WriteFile(filepath.Join(dir, file), []byte(s), 0o644) }
	thaw = func() { _ = write("freezer.state", "THAWED") }
	t.Cleanup(func() {
		thaw()
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			if err := os.Remove(dir); err == nil || errors.Is(err, os.ErrNotExist) {
				return
			}
		}
		t.Errorf("freezer cgroup %s not removed", dir)
	})
	for _, pid := range pids {
		if err := write("cgroup.procs", strconv.Itoa(pid)); err != nil {
			t.Fatalf("process %d into the freezer: %v", pid, err)
		}
	}
	if err := write("freezer.state", "FROZEN"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "freezer.state"))
		return err == nil && strings.TrimSpace(string(b)) == "FROZEN"
	}, "processes %v to be frozen", pids)
	return thaw
}
