package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSimJobFileErrorsBrief: a job file with a problem in every job was
// reported problem by problem, the whole file: 24,357 lines for a
// 50,000-job file whose lab-a jobs named an unknown tenant, where carnot
// workload validate shows 50 and counts the rest. carnot sim (and
// carnot schedule) now do as validate does.
func TestSimJobFileErrorsBrief(t *testing.T) {
	dir := t.TempDir()
	work := filepath.Join(dir, "jobs.jsonl")
	var b strings.Builder
	for i := range 120 {
		fmt.Fprintf(&b, `{"id":"j%d","tenant":"lab-z","gpus":1,"cpus":4,"memory_gib":16,"runtime_limit":600,"submit_time":1767225600,"command":["a"]}`+"\n", i)
	}
	if err := os.WriteFile(work, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"sim", "--facility", smallFacility, "--workload", work, "--out", filepath.Join(dir, "out")},
		{"schedule", "--facility", smallFacility, "--workload", work},
	} {
		var out, errb bytes.Buffer
		if code := Main(args, &out, &errb); code == 0 {
			t.Fatalf("%s: exit 0", args[0])
		}
		lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
		want := "… and 70 more problems in " + work
		if len(lines) != 51 || lines[50] != want || !strings.Contains(lines[49], "jobs[49].tenant") {
			t.Errorf("%s: %d lines of stderr, ending %q; want 51, the last %q", args[0], len(lines), lines[len(lines)-1], want)
		}
	}
}
