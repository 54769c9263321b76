package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunJobFile: `carnot run -f jobs.yaml` (submit's -f, given to run,
// whose -f is --follow) submitted "jobs.yaml" as the command of a job:
// without --gpus the server refused it (exit 1, "a replica must ask for
// GPUs, CPUs or memory"), with --gpus it took GPUs and failed on the
// node (exit 127, "executable file not found"). A job file where
// COMMAND goes is a usage error that names carnot submit -f, and
// nothing is sent.
func TestRunJobFile(t *testing.T) {
	dir := t.TempDir()
	yaml := filepath.Join(dir, "jobs.yaml")
	writeTestFile(t, yaml, "- {tenant: lab-a, gpus: 1, command: [a]}\n")
	for _, args := range [][]string{
		{"run", "-f", yaml},
		{"run", "--gpus", "1", "-f", "jobs.jsonl"},
		{"run", "--gpus", "1", "--", "sweep.YML"},
	} {
		f := newFake(t)
		code, out, errs := carnot(append(args[:1:1], append([]string{"--server", f.srv.URL}, args[1:]...)...)...)
		file := args[len(args)-1]
		if code != ExitUsage || out != "" || !strings.Contains(errs, "carnot submit -f "+file) || len(f.reqs) != 0 {
			t.Errorf("carnot %s: exit %d, stdout %q, stderr %q, %d requests\nwant exit %d naming carnot submit -f %s, nothing sent",
				strings.Join(args, " "), code, out, errs, len(f.reqs), ExitUsage, file)
		}
	}
	// a command that merely takes a job file, or an executable so named,
	// is a command
	exe := filepath.Join(dir, "gen.json")
	writeTestFile(t, exe, "#!/bin/sh\n")
	if err := os.Chmod(exe, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, command := range [][]string{{"python", "train.py", "config.yaml"}, {exe}} {
		f := newFake(t)
		if code, _, errs := carnot(append([]string{"run", "--server", f.srv.URL, "--gpus", "1", "--tenant", "lab-a", "--"}, command...)...); code != 0 {
			t.Errorf("carnot run -- %s: exit %d, stderr %q", strings.Join(command, " "), code, errs)
		}
	}
}
