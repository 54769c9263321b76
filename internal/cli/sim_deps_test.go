package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSimShapeLeavesOutOrphans: --window and --sample keep some jobs of a
// job file, and a kept job that depends on one they left out failed the
// whole run ("sim: job c depends on b, which is not in the workload"),
// naming neither flag: a workload with pipelines could not be sampled
// at all. Such a job, and those that depend on it in turn, is now left
// out with a note, as the jobs a Philly replay cannot run are, and
// counted in left_out. A dependency the file itself lacks is still an
// error.
func TestSimShapeLeavesOutOrphans(t *testing.T) {
	dir := t.TempDir()
	work := filepath.Join(dir, "jobs.yaml")
	var w strings.Builder
	w.WriteString("jobs:\n")
	for _, j := range [][3]string{
		{"a", "2026-01-01T00:00:00Z", ""},
		{"b", "2026-01-01T00:01:00Z", ", depends_on: a"},
		{"c", "2026-01-01T00:02:00Z", ", depends_on: b"},
		{"d", "2026-01-01T00:03:00Z", ", depends_on: [\"afterany:a\", b]"},
		{"e", "2026-01-01T00:04:00Z", ""},
		{"f", "2026-01-01T00:05:00Z", ", depends_on: e"},
	} {
		w.WriteString("  - {id: " + j[0] + ", tenant: lab-a, gpus: 1, cpus: 4, memory_gib: 16, runtime_limit: 10m, submit_time: \"" + j[1] + "\"" + j[2] + ", command: [a]}\n")
	}
	if err := os.WriteFile(work, []byte(w.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	// from 00:00:30: a is left out, so b, and c and d after it, go too
	text, err := runCLI(t, "sim", "--facility", smallFacility, "--workload", work, "--out", out, "--window", "2026-01-01T00:00:30Z,")
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	note := "3 of 5 jobs left out: they depend on jobs --window 2026-01-01T00:00:30Z, left out (b on a; c on b; d on a)"
	if !strings.Contains(text, "note: "+note+"\n") {
		t.Errorf("stderr lacks the note %q:\n%s", note, text)
	}
	var sum struct {
		Jobs    int      `json:"jobs"`
		LeftOut int      `json:"left_out"`
		Notes   []string `json:"notes"`
	}
	data, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &sum); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{note}, sum.Notes); sum.Jobs != 2 || sum.LeftOut != 3 || diff != "" {
		t.Errorf("summary.json: jobs %d, left_out %d; want 2, 3; notes (-want +got):\n%s", sum.Jobs, sum.LeftOut, diff)
	}

	// a dependency the file lacks is the file's mistake
	if err := os.WriteFile(work, []byte("jobs:\n  - {id: x, tenant: lab-a, gpus: 1, cpus: 4, memory_gib: 16, runtime_limit: 10m, submit_time: \"2026-01-01T00:00:00Z\", depends_on: nosuch, command: [a]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if text, err := runCLI(t, "sim", "--facility", smallFacility, "--workload", work, "--out", out); err == nil || !strings.Contains(err.Error()+text, "depends on nosuch, which is not in the workload") {
		t.Errorf("a dependency missing from the file: %v\n%s", err, text)
	}
}
