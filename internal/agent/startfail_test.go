package agent

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// startFailure starts spec on the default runtime, in a data directory
// of its own, and returns why it could not start, as the task's status
// and its stderr log say it; it fails the test if the task started.
func startFailure(t *testing.T, spec api.Task) (err error, stderr string) {
	t.Helper()
	dir := t.TempDir()
	r := newProcesses(dir, 0, slog.New(slog.DiscardHandler))
	spec.Job, spec.Attempt = "j-fail", 1
	p, err := r.Start(spec)
	if err == nil {
		p.Wait()
		t.Fatalf("%q started, want it refused", spec.Command)
	}
	b, _ := os.ReadFile(logPath(dir, keyOf(spec), "stderr"))
	return err, string(b)
}

// A task whose work directory is not one on the node says which case it
// is: a path that does not exist there (a file system not mounted, a
// directory never created on this node) or one that is no directory.
// Before, both read "not a directory", the second followed by "(<nil>)".
func TestStartFailureNamesTheWorkDirsProblem(t *testing.T) {
	file := filepath.Join(t.TempDir(), "afile")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dir  string
		want string
	}{
		{"/nonexistent/carnot/run", "work directory /nonexistent/carnot/run does not exist on this node"},
		{file, "work directory " + file + " is not a directory"},
	} {
		err, stderr := startFailure(t, api.Task{Command: []string{"/bin/true"}, WorkDir: tc.dir})
		for _, got := range []string{err.Error(), stderr} {
			if !strings.Contains(got, tc.want) || strings.Contains(got, "<nil>") {
				t.Errorf("work directory %s: said %q, want %q", tc.dir, got, tc.want)
			}
		}
	}
}
