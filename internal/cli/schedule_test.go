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
	Now    string `json:"now"`
	Starts []struct {
		Job      string `json:"job"`
		Replicas []struct {
			Node string `json:"node"`
			GPUs []int  `json:"gpus"`
		} `json:"replicas"`
	} `json:"starts"`
	Preemptions []struct {
		Victim      string `json:"victim"`
		Beneficiary string `json:"beneficiary"`
		NoticeAt    string `json:"notice_at"`
		EvictAt     string `json:"evict_at"`
	} `json:"preemptions"`
	Deferrals []struct {
		Job   string `json:"job"`
		Until string `json:"until"`
	} `json:"deferrals"`
	Reservations []struct {
		Job      string   `json:"job"`
		Nodes    []string `json:"nodes"`
		EstStart string   `json:"est_start"`
	} `json:"reservations"`
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
		{[]string{"--facility", smallFacility, "--workload", smallJobs, "--seed", "3"}, "unknown flag: --seed"},
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

var (
	busyJobs   = filepath.Join("..", "..", "examples", "jobs-small-busy.yaml")
	smallState = filepath.Join("..", "..", "examples", "state-small.yaml")
)

// TestScheduleState runs the README's --state example: lab-a-finetune
// preempts the borrowing lab-b-pretrain, lab-a-eval waits for dirty GPUs
// with a reservation, and the drained node takes nothing.
func TestScheduleState(t *testing.T) {
	out, err := runCLI(t, "schedule", "--facility", smallFacility, "--workload", busyJobs, "--state", smallState, "-o", "json")
	if err != nil {
		t.Fatalf("schedule: %v\n%s", err, out)
	}
	var p planOut
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if p.Now != "2026-01-05T12:00:00Z" {
		t.Errorf("now %s, want the state's now:", p.Now)
	}
	if len(p.Preemptions) != 1 || p.Preemptions[0].Victim != "lab-b-pretrain" || p.Preemptions[0].Beneficiary != "lab-a-finetune" ||
		p.Preemptions[0].EvictAt != "2026-01-05T12:10:00Z" {
		t.Errorf("want lab-b-pretrain preempted for lab-a-finetune, evicted after its 10m grace; got %+v", p.Preemptions)
	}
	if len(p.Reservations) != 1 || p.Reservations[0].Job != "lab-a-eval" || p.Reservations[0].EstStart != "2026-01-05T13:30:00Z" {
		t.Errorf("want a reservation for lab-a-eval at 13:30; got %+v", p.Reservations)
	}
	running := map[string]bool{"lab-b-pretrain": true, "lab-a-sft": true, "interns-sweep": true}
	for _, s := range p.Starts {
		if running[s.Job] {
			t.Errorf("running job %s started again", s.Job)
		}
		for _, r := range s.Replicas {
			if r.Node == "h100-4" {
				t.Errorf("%s started on the draining node", s.Job)
			}
		}
	}
	for _, x := range p.Pending {
		if running[x.Job] {
			t.Errorf("running job %s listed as pending", x.Job)
		}
		if x.Job == "lab-a-eval" && !strings.Contains(x.Message, "dirty from another tenant") {
			t.Errorf("lab-a-eval should wait for dirty GPUs: %s", x.Message)
		}
	}
	table, err := runCLI(t, "schedule", "--facility", smallFacility, "--workload", busyJobs, "--state", smallState)
	if err != nil || !strings.Contains(table, "PREEMPTIONS") || !strings.Contains(table, "RESERVATIONS") {
		t.Errorf("table: %v\n%s", err, table)
	}
}

func TestScheduleStateErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	head := "now: 2026-01-05T12:00:00Z\nrunning:\n"
	badPlacement := write("placement.yaml", head+"  - job: lab-a-sft\n    started: 2026-01-05T08:00:00Z\n    placement: [\"h100-1:0-2\"]\n")
	unknownJob := write("job.yaml", head+"  - job: lab-z\n    started: 2026-01-05T08:00:00Z\n    placement: [\"h100-1:0-3\"]\n")
	unknownNode := write("node.yaml", "nodes:\n  - name: h100-7\n    condition: down\n")
	future := write("future.yaml", "running:\n  - job: lab-a-sft\n    started: 2026-01-05T13:00:00Z\n    placement: [\"h100-1:0-3\"]\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--state", badPlacement}, badPlacement + ":5: running[0].placement[0]: job lab-a-sft runs 4 GPU(s) per replica; this entry lists 3"},
		{[]string{"--state", unknownJob}, unknownJob + `:3: running[0].job: no job "lab-z" in the workload; add its spec to a --workload file or fix the id`},
		{[]string{"--state", unknownNode}, unknownNode + `:2: nodes[0].name: unknown node "h100-7"; the facility's nodes are h100-1, h100-2, h100-3, h100-4`},
		{[]string{"--state", future, "--now", "2026-01-05T12:00:00Z"}, future + ":3: running[0].started: 2026-01-05T13:00:00Z is after the time of the pass (2026-01-05T12:00:00Z)"},
		{[]string{"--state", future}, "(the pass runs at 2026-01-05T11:50:00Z, the latest submit time or the wall clock; give now: in the state file or --now)"},
		{[]string{"--state", filepath.Join(dir, "missing.yaml")}, "read state file:"},
	} {
		args := append([]string{"schedule", "--facility", smallFacility, "--workload", busyJobs}, tc.args...)
		out, err := runCLI(t, args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want it to contain %q\n%s", tc.args, err, tc.want, out)
		}
	}
}

// TestScheduleGridWarnings: a zone no site uses, and a series that does
// not cover the pass, are warnings on stderr, not errors.
func TestScheduleGridWarnings(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "grid.csv")
	body := "datetime_utc,ci_direct_gco2_per_kwh,price_eur_per_mwh\n2023-01-01T00:00:00Z,50,80\n2023-01-01T01:00:00Z,40,70\n"
	if err := os.WriteFile(csv, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	root := NewRoot()
	var stdout, stderr strings.Builder
	root.SetArgs([]string{"schedule", "--facility", smallFacility, "--workload", smallJobs, "--grid", "DE=" + csv, "--grid", "FR=" + csv, "-o", "json"})
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	if err := root.Execute(); err != nil {
		t.Fatalf("schedule: %v\n%s", err, stderr.String())
	}
	want := "warning: --grid DE: no site of the facility has grid_zone DE\n" +
		"warning: --grid FR: the series covers 2023-01-01T00:00:00Z..2023-01-01T01:00:00Z, not now (2026-01-05T11:00:00Z); no job will be deferred\n"
	if stderr.String() != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr.String(), want)
	}
	var p planOut
	if err := json.Unmarshal([]byte(stdout.String()), &p); err != nil {
		t.Errorf("stdout is not the JSON plan: %v", err)
	}
}

// carnot schedule holds a job whose dependency is pending in the same
// workload, with its reason, and places one whose dependency is not in
// the snapshot (it finished).
func TestScheduleHoldsDependents(t *testing.T) {
	dir := t.TempDir()
	jobs := filepath.Join(dir, "deps.yaml")
	if err := os.WriteFile(jobs, []byte(`- {id: prep, tenant: lab-a, gpus: 1, submit_time: 2026-01-01T00:00:00Z}
- {id: train, tenant: lab-a, gpus: 2, depends_on: prep, submit_time: 2026-01-01T00:00:00Z}
- {id: free, tenant: lab-a, gpus: 1, depends_on: done-before, submit_time: 2026-01-01T00:00:00Z}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "schedule", "--facility", filepath.Join("..", "..", "examples", "small.yaml"), "--workload", jobs)
	if err != nil {
		t.Fatalf("schedule: %v\n%s", err, out)
	}
	for _, want := range []string{"train  dependency  -          dependency: waits for prep (pending) to succeed", "free  lab-a", "prep  lab-a",
		"2 started (2 GPUs), 1 pending"} {
		if !strings.Contains(out, want) {
			t.Errorf("schedule output lacks %q:\n%s", want, out)
		}
	}
}

// carnot schedule holds afterany and afternotok jobs whose dependency is
// pending, saying what each waits for; one whose afterany dependency is
// not in the snapshot (it finished) is placed, one whose afternotok
// dependency is not (taken to have succeeded) is held, saying the live
// control plane would cancel it.
func TestScheduleHoldsDependentsByType(t *testing.T) {
	dir := t.TempDir()
	jobs := filepath.Join(dir, "deps.yaml")
	if err := os.WriteFile(jobs, []byte(`- {id: prep, tenant: lab-a, gpus: 1, submit_time: 2026-01-01T00:00:00Z}
- {id: eval, tenant: lab-a, gpus: 2, depends_on: [prep, afterany: gone], submit_time: 2026-01-01T00:00:00Z}
- {id: clean, tenant: lab-a, gpus: 1, depends_on: [afterany: prep, afternotok: eval], submit_time: 2026-01-01T00:00:00Z}
- {id: free, tenant: lab-a, gpus: 1, depends_on: afterany:gone, submit_time: 2026-01-01T00:00:00Z}
- {id: alert, tenant: lab-a, gpus: 1, depends_on: afternotok:gone, submit_time: 2026-01-01T00:00:00Z}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "schedule", "--facility", filepath.Join("..", "..", "examples", "small.yaml"), "--workload", jobs)
	if err != nil {
		t.Fatalf("schedule: %v\n%s", err, out)
	}
	for _, want := range []string{
		"eval   dependency  -          dependency: waits for prep (pending) to succeed",
		"clean  dependency  -          dependency: waits for prep (pending) to end and eval (pending) to fail or be cancelled",
		"alert  dependency  -          dependency: gone is neither pending nor running, so taken to have succeeded; this job runs only if it fails or is cancelled (afternotok), and the live control plane would cancel it",
		"free  lab-a", "prep  lab-a", "2 started (2 GPUs), 3 pending"} {
		if !strings.Contains(out, want) {
			t.Errorf("schedule output lacks %q:\n%s", want, out)
		}
	}
}
