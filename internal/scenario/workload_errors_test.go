package scenario

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/bundled"
)

// TestWorkloadErrorsBrief: a job file (or a batch) with a problem in
// every job was reported job by job: a batch of 100,000 jobs of an
// unknown tenant gave 100,001 lines. A job file's problems are now the
// first 50 and a count of the rest, as carnot workload validate prints
// them; a batch's are one line per problem, at its field, saying how
// many of its jobs it holds for (TestBatchProblemsAtTheirField).
func TestWorkloadErrorsBrief(t *testing.T) {
	dir := t.TempDir()
	var jobs strings.Builder
	for i := range 120 {
		fmt.Fprintf(&jobs, `{"id": "x%d", "tenant": "nobody", "gpus": 8, "runtime_limit": 3600, "submit_time": "2023-05-01T00:00:00Z"}`+"\n", i)
	}
	if err := os.WriteFile(filepath.Join(dir, "jobs.jsonl"), []byte(jobs.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	lab, err := filepath.Abs(filepath.Join("testdata", "lab4.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	set := "facility: " + lab + "\ngrids: {FR: {zone: FR}}\n"
	for _, tc := range []struct{ name, workload, want string }{
		{"file", "{file: jobs.jsonl}", "… and 70 more problems in "},
		{"batch", "{batch: {jobs: 120, start: 2023-05-01T00:00:00Z, every: 1h, runtime: 1h, gpus: 8, tenants: [nobody]}}", "(all 120 jobs)"},
	} {
		path := filepath.Join(dir, tc.name+".yaml")
		if err := os.WriteFile(path, []byte(set+"workload: "+tc.workload+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := LoadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Prepare(s, Options{Grid: bundled.Grid})
		if err == nil {
			t.Fatalf("%s: a workload of an unknown tenant prepared", tc.name)
		}
		msg := err.Error()
		want := 50
		if tc.name == "batch" {
			want = 1
		}
		if n := strings.Count(msg, "unknown tenant"); n != want || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %d problems listed; want %d and %q:\n%s", tc.name, n, want, tc.want, msg)
		}
	}
}
