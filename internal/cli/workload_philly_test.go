package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/jobspec"
	"github.com/carnot-dc/carnot/internal/model"
)

var (
	phillySample = filepath.Join("..", "trace", "testdata", "philly-sample.csv")
	smallYAML    = filepath.Join("..", "..", "examples", "small.yaml")
)

// TestWorkloadPhillyOntoFacility converts the Philly sample onto
// examples/small.yaml, whose tenants have their own names, and replays
// the result with carnot sim.
func TestWorkloadPhillyOntoFacility(t *testing.T) {
	dir := t.TempDir()
	vcmap := filepath.Join("..", "..", "examples", "philly-vcmap-small.csv") // 6214e9 lab-a, 7f04ca lab-b
	jobsFile := filepath.Join(dir, "jobs.jsonl")
	code, out, errs := workloadCLI("workload", "philly", "--facility", smallYAML, "--trace", phillySample,
		"--map-file", vcmap, "--map", "b436b2=interns", "--default-tenant", "interns", "--class", "low", "-o", jobsFile)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if out != "" {
		t.Errorf("stdout %q with -o", out)
	}
	for _, want := range []string{
		"note: 18 of 300 jobs go to tenant interns (--default-tenant interns): those of the VCs not mapped otherwise, ee9e8c (7 jobs), 11cb48 (5 jobs), 103959 (2 jobs), e13805 (2 jobs), 6c71a0 (1 job), ed69ec (1 job)\n",
		"note: 11 of 300 jobs left out: they would never start, as their tenant's quota (nominal quota, cohort and borrowing limit) never gives it as many GPUs as they need at once: the scheduler would park them (interns: 11 jobs of up to 16 GPUs, its quota gives at most 8)\n",
		"wrote 289 of 300 jobs (9 VCs onto 3 tenants of small), submitted 2023-09-04T10:30:41Z to 2023-09-24T14:33:01Z, to " + jobsFile + "\n",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	fac, err := facility.LoadFile(smallYAML)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := jobspec.LoadFileToReplay(jobsFile, fac)
	if err != nil {
		t.Fatalf("carnot sim would not read the output: %v", err)
	}
	perTenant := map[string]int{}
	for _, j := range jobs {
		perTenant[j.Tenant]++
		if j.PriorityClass != "low" || !j.Preemptible || j.CPUsPerReplica != 4*j.GPUsPerReplica {
			t.Fatalf("job %+v: want class low, preemptible (as small.yaml's low), 4 CPUs per GPU", j)
		}
	}
	if perTenant["lab-a"] != 246 || perTenant["lab-b"] != 7 || perTenant["interns"] != 36 {
		t.Errorf("jobs per tenant %v, want lab-a 246, lab-b 7, interns 29-11+18", perTenant)
	}
	code, out, errs = workloadCLI("sim", "--facility", smallYAML, "--workload", jobsFile, "--out", filepath.Join(dir, "sim"))
	if code != 0 || !strings.HasPrefix(out, "289 jobs: 289 finished, 0 never started;") {
		t.Errorf("sim: exit %d\n%s%s", code, out, errs)
	}
}

// TestWorkloadPhillyBundledMatchesDefault: the bundled slice converted
// onto the bundled facility by tenant prefix, as bundled.Jobs maps it,
// replays to the bundled default's summary.json, byte for byte.
func TestWorkloadPhillyBundledMatchesDefault(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join("..", "bundled", "data")
	jobsFile := filepath.Join(dir, "jobs.jsonl")
	code, _, errs := workloadCLI("workload", "philly", "--facility", filepath.Join(data, "facility.yaml"),
		"--trace", filepath.Join(data, "philly-2017-09-24_to_2017-09-27.csv"), "--tenant-prefix", "vc-", "-o", jobsFile)
	if code != 0 || strings.Contains(errs, "note:") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if code, out, errs := workloadCLI("sim", "--out", filepath.Join(dir, "default")); code != 0 {
		t.Fatalf("sim: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := workloadCLI("sim", "--facility", filepath.Join(data, "facility.yaml"), "--workload", jobsFile, "--out", filepath.Join(dir, "converted")); code != 0 {
		t.Fatalf("sim: exit %d\n%s%s", code, out, errs)
	}
	a, err := os.ReadFile(filepath.Join(dir, "default", simSummary))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "converted", simSummary))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("summary.json of the converted slice differs from the bundled default's")
	}
}

// TestWorkloadPhillyErrors: each mistake is an error that says where it
// is, and nothing is written.
func TestWorkloadPhillyErrors(t *testing.T) {
	dir := t.TempDir()
	vcmap := filepath.Join(dir, "vcmap.csv")
	if err := os.WriteFile(vcmap, []byte("vc,tenant\n6214e9,lab-a\nb436b2,lab-x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badMap := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(badMap, []byte("vc,tenant\n6214e9,lab a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"workload", "philly", "--facility", smallYAML, "--trace", phillySample}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unmapped VCs", nil, ExitFailure,
			"error: 300 of 300 jobs have no tenant: 9 VCs are not mapped: 6214e9 (246 jobs), b436b2 (29 jobs), 7f04ca (7 jobs), ee9e8c (7 jobs), 11cb48 (5 jobs), 103959 (2 jobs), e13805 (2 jobs), 6c71a0 (1 job), ed69ec (1 job); map each to a tenant of the facility (its tenants: interns, lab-a, lab-b), or give a default tenant\n" +
				"(--map VC=TENANT, a row VC,TENANT in --map-file, --tenant-prefix, or --default-tenant TENANT for all the rest)\n"},
		{"tenant not in facility", []string{"--map-file", vcmap, "--default-tenant", "lab-b"}, ExitFailure,
			"error: " + vcmap + ":3:8: tenant: tenant lab-x is not in facility small (its tenants: interns, lab-a, lab-b)\n"},
		{"bad map file", []string{"--map-file", badMap}, ExitFailure,
			"error: --map-file:\n" + badMap + `:2:8: tenant: "lab a" is not a tenant name; use letters`},
		{"VC in file and flag", []string{"--map-file", vcmap, "--map", "6214e9=lab-b", "--default-tenant", "lab-b"}, ExitFailure,
			"--map 6214e9=lab-b: VC 6214e9 is already mapped to lab-a at " + vcmap + ":2; keep one mapping per VC"},
		{"class not allowed", []string{"--default-tenant", "interns"}, ExitFailure,
			"error: --default-tenant interns: VC 103959 goes to tenant interns, which may not use priority class normal (it may use low); map the VC to another tenant, or give another class\n"},
		{"bad --map", []string{"--map", "6214e9"}, ExitUsage, "error: --map 6214e9: want VC=TENANT, e.g. --map 6214e9=lab-a\n"},
		{"unknown GPU model", []string{"--default-tenant", "lab-b", "--gpu-model", "A100"}, ExitUsage,
			"error: --gpu-model A100: no node of facility small has it (its nodes have H100)\n"},
		{"shift and start", []string{"--default-tenant", "lab-b", "--shift", "0", "--start", "2026-01-01T00:00:00Z"}, ExitUsage,
			"error: give --shift or --start, not both\n"},
		// the limit read "must be from 0 to 315360000000 seconds"
		{"shift too far", []string{"--default-tenant", "lab-b", "--shift", "3650001d"}, ExitUsage,
			`error: --shift "3650001d": want a duration of at most 10000 years (3650000d), forward or back (-7d), e.g. 2191d` + "\n"},
		// a shift back may be as long: the limit read "must be from 0
		// to 10000 years", and the value lost its sign ("-x" was told
		// it had given "x")
		{"shift back too far", []string{"--default-tenant", "lab-b", "--shift", "-3650001d"}, ExitUsage,
			`error: --shift "-3650001d": want a duration of at most 10000 years (3650000d), forward or back (-7d), e.g. 2191d` + "\n"},
		{"shift back not a duration", []string{"--default-tenant", "lab-b", "--shift", "-x"}, ExitUsage,
			`error: --shift "-x": want a duration of at most 10000 years (3650000d), forward or back (-7d), e.g. 2191d` + "\n"},
		{"empty window", []string{"--default-tenant", "lab-b", "--window", "2020-01-01,"}, ExitUsage,
			"error: --window 2020-01-01, keeps none of the jobs of " + phillySample + "\n"},
		{"no trace", []string{"--trace", ""}, ExitUsage, "error: give --facility FILE and --trace CSV\n"},
		{"past year 9999", []string{"--default-tenant", "lab-b", "--start", "9999-12-31T00:00:00Z"}, ExitUsage,
			"error: the last job would be submitted at 10000-"},
		{"output is an input", []string{"--default-tenant", "lab-b", "-o", phillySample}, ExitUsage,
			"error: --trace " + phillySample + " is also -o: writing the jobs would replace it; give another -o\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, "out.jsonl")
			args := append(append([]string(nil), base...), tt.args...)
			if !strings.Contains(strings.Join(tt.args, " "), "-o ") {
				args = append(args, "-o", out)
			}
			code, _, errs := workloadCLI(args...)
			if code != tt.code || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and:\n%s", code, errs, tt.code, tt.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("wrote %s", out)
			}
		})
	}
}

// TestWorkloadPhillyShift: --shift moves every submit time, --start
// puts the window's start (or the first job) at the given time, and the
// default moves 2017 to 2023 as the bundled default does.
func TestWorkloadPhillyShift(t *testing.T) {
	first := func(args ...string) (model.Time, int) {
		t.Helper()
		base := []string{"workload", "philly", "--facility", smallYAML, "--trace", phillySample, "--default-tenant", "lab-b"}
		code, out, errs := workloadCLI(append(base, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		jobs, err := jobspec.Load("out.jsonl", []byte(out), nil)
		if err != nil {
			t.Fatal(err)
		}
		return jobs[0].SubmitTime, len(jobs)
	}
	trace := model.Time(1504521041) // 2017-09-04 10:30:41, the sample's first job
	for _, tc := range []struct {
		args []string
		want model.Time
		jobs int
	}{
		{nil, trace + model.Time(2191*model.Day), 300},
		{[]string{"--shift", "0"}, trace, 300},
		{[]string{"--shift", "7d"}, trace + model.Time(7*model.Day), 300},
		{[]string{"--start", "2026-01-01T00:00:00Z"}, 1767225600, 300},
		// 2017-09-07 00:00 moves to 2026-01-01 00:00: the first job of
		// the window, at 03:58:57, keeps its time of day
		{[]string{"--window", "2017-09-07,2017-09-10", "--start", "2026-01-01T00:00:00Z"}, 1767225600 + 3*3600 + 58*60 + 57, 7},
	} {
		got, n := first(tc.args...)
		if got != tc.want || n != tc.jobs {
			t.Errorf("%v: first submit %s, %d jobs; want %s, %d jobs", tc.args, got, n, tc.want, tc.jobs)
		}
	}
}
