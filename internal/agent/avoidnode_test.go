package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// A task the agent cannot start for a cause of the node's own (the
// program or what runs it missing there, the work directory missing
// there) is reported with AvoidNode, so that the job's next attempts go
// elsewhere; one whose cause is the job's on every node (a script of its
// work directory missing or not executable, Windows line ends) or that
// ran and exited 126 or 127 itself is not. Before, no start failure but
// a refused power cap said so, and the job was retried on the same node
// until its retries were spent.
func TestStartFailureOfTheNodeAvoidsIt(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noInterp := write("train.py", "#!/nonexistent/python3\nprint(1)\n", 0o755)
	crlf := write("crlf.sh", "#!/bin/sh\r\necho hi\r\n", 0o755)
	write("noexec.sh", "#!/bin/sh\necho hi\n", 0o644)
	cases := []struct {
		name    string
		command []string
		workDir string
		code    int
		avoid   bool
	}{
		{"bare name not in PATH", []string{"carnot-no-such-program"}, "", 127, true},
		{"absolute path missing", []string{"/nonexistent/bin/train"}, "", 127, true},
		{"interpreter missing", []string{noInterp}, "", 127, true},
		{"work directory missing", []string{"/bin/true"}, "/nonexistent/carnot/run", 126, true},
		{"script of the default work directory missing", []string{"./train.sh"}, "", 127, false},
		{"script of the job's work directory not executable", []string{"./noexec.sh"}, dir, 126, false},
		{"script with Windows line ends", []string{crlf}, "", 127, false},
		{"program that exits 127 itself", []string{"/bin/sh", "-c", "./missing.sh"}, "", 127, false},
	}
	srv := newFakeServer()
	startAgent(t, srv)
	var tasks []api.Task
	for i, c := range cases {
		tasks = append(tasks, api.Task{Job: "j", Tenant: "acme", Replica: i, Attempt: 1, Command: c.command, WorkDir: c.workDir, GraceSeconds: 1})
	}
	srv.assign(tasks...)
	for i, c := range cases {
		st := srv.waitStatus(t, "j", i, 1, ended)
		if st.ExitCode == nil || *st.ExitCode != c.code || st.AvoidNode != c.avoid {
			code := -1
			if st.ExitCode != nil {
				code = *st.ExitCode
			}
			t.Errorf("%s: %s, exit code %d, avoid_node %v (%s); want exit code %d, avoid_node %v",
				c.name, st.State, code, st.AvoidNode, st.Error, c.code, c.avoid)
		}
	}
}

// A program named bare that is not in PATH but is a file of the task's
// work directory (train.sh for ./train.sh) is the job's mistake, the
// same on every node: its start fails (127) saying how to run it, and
// the node is not avoided. Before, it was taken for a program missing
// from the node, and the job walked the facility one node an attempt.
func TestBareNameOfAWorkDirFileIsTheJobsMistake(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "train.sh"), []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	srv := newFakeServer()
	startAgent(t, srv)
	srv.assign(api.Task{Job: "j", Tenant: "acme", Replica: 0, Attempt: 1, Command: []string{"train.sh"}, WorkDir: dir, GraceSeconds: 1})
	st := srv.waitStatus(t, "j", 0, 1, ended)
	if st.ExitCode == nil || *st.ExitCode != 127 || st.AvoidNode || !strings.Contains(st.Error, "./train.sh") {
		t.Errorf("bare train.sh of the work directory: %+v; want exit code 127 without avoid_node, saying ./train.sh", st)
	}
}
