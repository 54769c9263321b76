package agent

import (
	"errors"
	"fmt"
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
func startFailure(t *testing.T, spec api.Task) (stderr string, err error) {
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
	return string(b), err
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
		stderr, err := startFailure(t, api.Task{Command: []string{"/bin/true"}, WorkDir: tc.dir})
		for _, got := range []string{err.Error(), stderr} {
			if !strings.Contains(got, tc.want) || strings.Contains(got, "<nil>") {
				t.Errorf("work directory %s: said %q, want %q", tc.dir, got, tc.want)
			}
		}
	}
}

// A program that exists but whose exec answers "no such file or
// directory" says what is missing: the interpreter its #! line names,
// a #! line that ends in a carriage return (a script saved with Windows
// line ends), or a binary's dynamic loader. Before, the error named
// only the program, which the operator then finds right there.
func TestStartFailureNamesAMissingInterpreter(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		path, want string
	}{
		{write("train.py", []byte("#!/nonexistent/python3 -u\nprint(1)\n")), "its interpreter /nonexistent/python3 (its #! line) is not on this node"},
		{write("crlf.sh", []byte("#!/bin/sh\r\necho hi\r\n")), "its #! line ends with a carriage return"},
	}
	// A binary whose dynamic loader is not there: /bin/true with its
	// loader's name changed (where it has the usual one).
	if b, err := os.ReadFile("/bin/true"); err == nil {
		for _, ld := range []string{"/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1"} {
			if i := strings.Index(string(b), ld); i >= 0 {
				b = []byte(strings.Replace(string(b), ld, ld[:len(ld)-1]+"9", 1))
				cases = append(cases, struct{ path, want string }{write("elf", b), "its dynamic loader"})
				break
			}
		}
	}
	for _, tc := range cases {
		stderr, err := startFailure(t, api.Task{Command: []string{tc.path}})
		for _, got := range []string{err.Error(), stderr} {
			if !strings.Contains(got, tc.want) {
				t.Errorf("%s: said %q, want %q", filepath.Base(tc.path), got, tc.want)
			}
		}
	}
}

// A program not found in the task's PATH says which PATH was searched:
// the task's own (its env, else the agent's), which an operator cannot
// otherwise see, and that relative entries are not searched. Before, it
// read "executable file not found in $PATH", whose PATH one would take
// for the agent's, or one's own shell's.
func TestStartFailureNamesThePATHSearched(t *testing.T) {
	for _, tc := range []struct {
		path, want string
	}{
		{"/nonexistent/bin:/nonexistent/sbin", `"carnot-no-such-program" is not in the task's PATH (/nonexistent/bin:/nonexistent/sbin)`},
		{".:/nonexistent/bin", `"carnot-no-such-program" is not in the task's PATH (.:/nonexistent/bin; relative entries are not searched)`},
		{"", `"carnot-no-such-program" is not found: the task's PATH is empty`},
	} {
		stderr, err := startFailure(t, api.Task{Command: []string{"carnot-no-such-program"}, Env: map[string]string{"PATH": tc.path}})
		var se *StartError
		if !errors.As(err, &se) || se.Code != 127 {
			t.Errorf("PATH=%s: %v, want a start error with exit code 127", tc.path, err)
		}
		for _, got := range []string{err.Error(), stderr} {
			if !strings.Contains(got, tc.want) {
				t.Errorf("PATH=%s: said %q, want %q", tc.path, got, tc.want)
			}
		}
	}
}

// A program exec refuses (permission denied) says why when the agent can
// tell: a file without an execute bit, or a directory. Before, both read
// "permission denied", which sends the operator after the agent's user.
func TestStartFailureSaysWhyPermissionIsDenied(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "run.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, want string
	}{
		{script, "it is not executable (chmod +x?)"},
		{dir, "it is a directory"},
	} {
		stderr, err := startFailure(t, api.Task{Command: []string{tc.path}})
		var se *StartError
		if !errors.As(err, &se) || se.Code != 126 {
			t.Errorf("%s: %v, want a start error with exit code 126", tc.path, err)
		}
		for _, got := range []string{err.Error(), stderr} {
			if !strings.Contains(got, tc.want) {
				t.Errorf("%s: said %q, want %q", tc.path, got, tc.want)
			}
		}
	}
}

// A task whose command and environment are more than exec takes (E2BIG:
// many large env values, which a job may give) says that and how large
// they are. Before, it read "argument list too long" for a command of
// one word, which sends the operator after the command.
func TestStartFailureSaysTheEnvironmentIsTooLarge(t *testing.T) {
	env := map[string]string{}
	for i := range 200 { // 6.4 MB: above what Linux takes whatever the stack limit
		env[fmt.Sprintf("BIG_%d", i)] = strings.Repeat("x", 32<<10)
	}
	stderr, err := startFailure(t, api.Task{Command: []string{"/bin/true"}, Env: env})
	var se *StartError
	if !errors.As(err, &se) || se.Code != 126 {
		t.Errorf("%v, want a start error with exit code 126", err)
	}
	want := "the command and its environment are"
	for _, got := range []string{err.Error(), stderr} {
		if !strings.Contains(got, want) || !strings.Contains(got, "ARG_MAX") {
			t.Errorf("said %q, want %q … ARG_MAX", got, want)
		}
	}
}
