package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/jobspec"
)

func workloadCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestWorkloadGenerateLoadsBack generates from the example facilities and
// loads the output back against them.
func TestWorkloadGenerateLoadsBack(t *testing.T) {
	for _, name := range []string{"small.yaml", "paris.yaml"} {
		path := filepath.Join("..", "..", "examples", name)
		code, out, errs := workloadCLI("workload", "generate", "--facility", path, "--jobs", "500", "--seed", "3", "--start", "2026-02-01T00:00:00Z")
		if code != 0 {
			t.Fatalf("%s: generate exit %d: %s", name, code, errs)
		}
		fac, err := facility.LoadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		jobs, err := jobspec.Load("gen.jsonl", []byte(out), fac)
		if err != nil {
			t.Fatalf("%s: load back: %v", name, err)
		}
		if len(jobs) != 500 {
			t.Errorf("%s: %d jobs, want 500", name, len(jobs))
		}
		_, again, _ := workloadCLI("workload", "generate", "--facility", path, "--jobs", "500", "--seed", "3", "--start", "2026-02-01T00:00:00Z")
		if again != out {
			t.Errorf("%s: same flags, different output", name)
		}
	}
}

func TestWorkloadGenerateToFile(t *testing.T) {
	small := filepath.Join("..", "..", "examples", "small.yaml")
	file := filepath.Join(t.TempDir(), "w.jsonl")
	if code, _, errs := workloadCLI("workload", "generate", "--facility", small, "--jobs", "50", "-o", file); code != 0 {
		t.Fatalf("generate: %s", errs)
	}
	code, out, errs := workloadCLI("workload", "validate", "--facility", small, file)
	if code != 0 || !strings.HasPrefix(out, file+": ok (") {
		t.Errorf("validate: exit %d, out %q, err %q", code, out, errs)
	}
}

func TestWorkloadValidate(t *testing.T) {
	small := filepath.Join("..", "..", "examples", "small.yaml")
	example := filepath.Join("..", "..", "examples", "jobs-small.yaml")
	code, out, errs := workloadCLI("workload", "validate", "--facility", small, example)
	if code != 0 {
		t.Fatalf("validate %s: exit %d\n%s%s", example, code, out, errs)
	}
	if diff := cmp.Diff(example+": ok (9 jobs, 1 deployments, 46 GPUs requested)\n", out); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("- id: a\n  tenant: lab-a\n  gpus: 16\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = workloadCLI("workload", "validate", "--facility", small, example, bad)
	want := bad + ":3: jobs[0].gpus: 16 GPUs per replica, but no node has more than 8; split the work into more replicas\n"
	if code != 1 || !strings.HasSuffix(out, want) || !strings.Contains(errs, "1 of 2 job files invalid") {
		t.Errorf("validate bad file: exit %d\nout: %s\nerr: %s", code, out, errs)
	}
}

func TestWorkloadFlags(t *testing.T) {
	small := filepath.Join("..", "..", "examples", "small.yaml")
	for _, args := range [][]string{
		{"workload", "generate"},
		{"workload", "generate", "--facility", small, "--bench"},
		{"workload", "generate", "--facility", small, "--jobs", "0"},
		{"workload", "generate", "--facility", small, "--start", "tomorrow"},
		{"workload", "generate", "--facility", "no-such-file.yaml"},
		{"workload", "validate"},
	} {
		if code, _, _ := workloadCLI(args...); code == 0 {
			t.Errorf("%v: exit 0, want an error", args)
		}
	}
}

// TestWorkloadGenerateStartBounds: --start before 1970, or so late that
// the submissions pass year 9999, wrote a file that carnot's own reader
// refuses job by job ("submit_time: must be after 1970-01-01T00:00:00Z
// and before year 10000"), though the command promises that validate
// accepts what it writes. It now refuses such a --start and writes
// nothing; the bounds themselves still generate.
func TestWorkloadGenerateStartBounds(t *testing.T) {
	small := filepath.Join("..", "..", "examples", "small.yaml")
	for _, tc := range []struct{ start, want string }{
		{"1960-01-01T00:00:00Z", `--start 1960-01-01T00:00:00Z: job files hold times after 1970-01-01T00:00:00Z; give a later start`},
		{"1970-01-01T00:00:00Z", `--start 1970-01-01T00:00:00Z: job files hold times after 1970-01-01T00:00:00Z; give a later start`},
		{"9999-12-31T23:00:00Z", `--start 9999-12-31T23:00:00Z: the jobs' times would reach 10000-`},
	} {
		file := filepath.Join(t.TempDir(), "w.jsonl")
		code, _, errs := workloadCLI("workload", "generate", "--facility", small, "--jobs", "50", "--start", tc.start, "-o", file)
		if code == 0 || !strings.Contains(errs, tc.want) {
			t.Errorf("--start %s: exit %d, stderr %q; want an error containing %q", tc.start, code, errs, tc.want)
		}
		if _, err := os.Stat(file); err == nil {
			t.Errorf("--start %s: wrote %s", tc.start, file)
		}
	}
	for _, start := range []string{"1970-01-01T00:00:01Z", "9999-12-01T00:00:00Z"} {
		code, out, errs := workloadCLI("workload", "generate", "--facility", small, "--jobs", "50", "--start", start)
		if code != 0 {
			t.Fatalf("--start %s: exit %d: %s", start, code, errs)
		}
		if _, err := jobspec.Load("gen.jsonl", []byte(out), nil); err != nil {
			t.Errorf("--start %s: the output does not load back: %v", start, err)
		}
	}
}

// workload validate's help names what a facility adds to the checks,
// data classes included, which it refuses since 2026-12-01 when the
// facility does not define them, and the file's own depends_on check.
func TestWorkloadValidateHelpNamesItsChecks(t *testing.T) {
	code, out, errs := workloadCLI("workload", "validate", "--help")
	if code != 0 {
		t.Fatalf("validate --help: exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"data classes", "depends_on"} {
		if !strings.Contains(out, want) {
			t.Errorf("validate --help does not name %q:\n%s", want, out)
		}
	}
}

// TestWorkloadGenerateJobsBound: --jobs had no upper bound, and a large
// one made the generator allocate every job before the first was
// written: --jobs 100000000 ended in "fatal error: runtime: out of
// memory" with a Go stack, and --jobs 9223372036854775807 in a panic. It
// now stops at 1,000,000, as a scenario set's workload.generate.jobs,
// with an error that says so and nothing written.
func TestWorkloadGenerateJobsBound(t *testing.T) {
	small := filepath.Join("..", "..", "examples", "small.yaml")
	for _, n := range []string{"9223372036854775807", "1000001"} {
		code, out, errs := workloadCLI("workload", "generate", "--facility", small, "--jobs", n)
		want := "--jobs must be from 1 to 1000000 (got " + n + ")"
		if code != ExitUsage || out != "" || !strings.Contains(errs, want) {
			t.Errorf("--jobs %s: exit %d, stdout %d bytes, stderr %q; want exit %d, nothing written, %q", n, code, len(out), errs, ExitUsage, want)
		}
	}
}
