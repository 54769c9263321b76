package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/jobspec"
)

type planOut struct {
	Starts []struct {
		Job      string `json:"job"`
		Replicas []struct {
			Node string `json:"node"`
			GPUs []int  `json:"gpus"`
		} `json:"replicas"`
	} `json:"starts"`
	Deferrals []struct {
		Job   string `json:"job"`
		Until string `json:"until"`
	} `json:"deferrals"`
	Pending []struct {
		Job     string `json:"job"`
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"pending"`
}

var (
	smallFacility = filepath.Join("..", "..", "examples", "small.yaml")
	smallJobs     = filepath.Join("..", "..", "examples", "jobs-small.yaml")
)

// TestScheduleReadmeCommand runs the README's main command and checks
// that every job of the workload is accounted for exactly once.
func TestScheduleReadmeCommand(t *testing.T) {
	out, err := runCLI(t, "schedule", "--facility", smallFacility, "--workload", smallJobs, "-o", "json")
	if err != nil {
		t.Fatalf("schedule: %v\n%s", err, out)
	}
	var p planOut
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	fac, err := facility.LoadFile(smallFacility)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := jobspec.LoadFile(smallJobs, fac)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, s := range p.Starts {
		seen[s.Job]++
		if len(s.Replicas) == 0 {
			t.Errorf("start of %s has no replicas", s.Job)
		}
	}
	for _, x := range p.Pending {
		seen[x.Job]++
		if x.Code == "" || !strings.HasPrefix(x.Message, x.Code) {
			t.Errorf("pending %s: code %q, message %q", x.Job, x.Code, x.Message)
		}
	}
	for _, j := range jobs {
		if seen[j.ID] != 1 {
			t.Errorf("job %s appears %d times in the plan", j.ID, seen[j.ID])
		}
	}
	if len(p.Starts) == 0 {
		t.Error("nothing started on an empty facility")
	}
	// The table form is deterministic.
	a, err := runCLI(t, "schedule", "--facility", smallFacility, "--workload", smallJobs)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := runCLI(t, "schedule", "--facility", smallFacility, "--workload", smallJobs)
	if a != b || !strings.Contains(a, "STARTS") || !strings.Contains(a, "summary:") {
		t.Errorf("table output not stable or incomplete:\n%s\n---\n%s", a, b)
	}
}

func TestScheduleErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("jobs:\n  - id: x\n    tenant: lab-a\n    gpus: 1\n    replicas: 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--workload", smallJobs}, `required flag(s) "facility" not set`},
		{[]string{"--facility", smallFacility, "--workload", bad}, bad + ":5: jobs[0].replicas"},
		{[]string{"--facility", smallFacility, "--workload", smallJobs, "-o", "xml"}, `--output "xml": want table or json`},
		{[]string{"--facility", smallFacility, "--workload", smallJobs, "--grid", "FR"}, `--grid "FR": want ZONE=FILE`},
		{[]string{"--facility", smallFacility, "--workload", smallJobs, "--now", "tomorrow"}, `--now "tomorrow"`},
		{[]string{"--facility", filepath.Join(dir, "missing.yaml"), "--workload", smallJobs}, "missing.yaml"},
	} {
		out, err := runCLI(t, append([]string{"schedule"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("schedule %v: err %v, want it to contain %q\n%s", tc.args, err, tc.want, out)
		}
	}
}

// TestScheduleDefersOnRealGrid defers a flexible job on the real 2023
// French series (when the reference data is beside the project) and
// checks the deferral stays inside the job's window.
func TestScheduleDefersOnRealGrid(t *testing.T) {
	gridCSV := filepath.Join("..", "..", "..", "shared", "data", "grid", "fr-2023-hourly.csv")
	if _, err := os.Stat(gridCSV); err != nil {
		t.Skip("reference grid data not beside the project")
	}
	dir := t.TempDir()
	work := filepath.Join(dir, "flex.yaml")
	spec := `jobs:
  - id: flex
    tenant: lab-a
    gpus: 1
    runtime_limit: 4h
    submit_time: 2023-06-01T08:00:00Z
    earliest_start: 2023-06-01T08:00:00Z
    deadline: 2023-06-01T20:00:00Z
`
	if err := os.WriteFile(work, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "schedule", "--facility", smallFacility, "--workload", work, "--grid", "FR="+gridCSV, "-o", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var p planOut
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Deferrals)+len(p.Starts) != 1 {
		t.Fatalf("want one start or deferral, got %s", out)
	}
	for _, d := range p.Deferrals {
		until, err := time.Parse(time.RFC3339, d.Until)
		if err != nil {
			t.Fatal(err)
		}
		latest := time.Date(2023, 6, 1, 16, 0, 0, 0, time.UTC)
		if until.After(latest) || !until.After(time.Date(2023, 6, 1, 8, 0, 0, 0, time.UTC)) {
			t.Errorf("deferred until %s, outside (08:00, 16:00]", until)
		}
	}
}
