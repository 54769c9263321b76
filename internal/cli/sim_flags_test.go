package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSimFlagErrors: bad model and shaping flags are usage errors that
// name the flag, before anything runs.
func TestSimFlagErrors(t *testing.T) {
	work := filepath.Join("..", "..", "examples", "jobs-small-generated.jsonl")
	for _, tc := range []struct {
		flags []string
		msg   string
	}{
		{[]string{"--policy", "order=lifo"}, `--policy:1: policy.order: unknown order "lifo"`},
		{[]string{"--policy", "backfill"}, `want key=value`},
		// a key given twice failed as "settings [...] do not read as
		// key=value pairs", naming neither the key nor the flags
		{[]string{"--policy", "order=fifo", "--policy", "backfill=false", "--policy", " order = shortest-first"}, "--policy \" order = shortest-first\": key order is given twice (--policy \"order=fifo\"); give each key once"},
		{[]string{"--arrival-rate", "0"}, "--arrival-rate 0"},
		{[]string{"--sample", "2"}, "--sample 2"},
		// 0 was the flag's unset value, so --sample 0 ran every job
		{[]string{"--sample", "0"}, "--sample 0: want a share in (0, 1]"},
		{[]string{"--window", "2026-01-02"}, "want FROM,TO"},
		{[]string{"--window", "yesterday,"}, "--window: from:"},
		{[]string{"--window", "2026-01-02,2026-01-01"}, "FROM must come before TO"},
		// time 0 means "no bound" to trace.Window, so an explicit TO of
		// 1970-01-01 kept every job after FROM instead of none, and a
		// time before 1970 failed inside the trace options unnamed
		{[]string{"--window", "2026-01-02,1970-01-01"}, "FROM must come before TO"},
		{[]string{"--window", ",1970-01-01"}, "FROM must come before TO"},
		{[]string{"--window", "1969-12-31,2026-01-01"}, "--window: from: 1969-12-31 is before 1970-01-01"},
		// a window or sample that keeps no job ran an empty twin and
		// wrote zero figures without a word
		{[]string{"--window", "2030-01-01,"}, "--window 2030-01-01, keeps none of the 200 jobs (submitted from 2026-01-01T"},
		{[]string{"--mtbf", "often"}, "--mtbf"},
		{[]string{"--cap-exponent", "0"}, "--cap-exponent 0"},
		{[]string{"--spread-slowdown", "1"}, "--spread-slowdown 1"},
		{[]string{"--pass-depth", "-1"}, "--pass-depth -1"},
		{[]string{"--checkpoint", "0"}, "--checkpoint: want a duration above zero"},
		{[]string{"--mtbf", "1d", "--mttr", "0s"}, "--mttr: want a duration above zero"},
		{[]string{"--pass-depth", "10", "--full-pass-every", "soon"}, "--full-pass-every"},
		// flags that only apply with another were ignored without it:
		// --scale 0.5 replayed the workload on the full facility
		{[]string{"--scale", "0.5"}, "--scale applies with --philly only"},
		{[]string{"--mttr", "1h"}, "--mttr applies with --mtbf only"},
		{[]string{"--gpu-mttr", "1h"}, "--gpu-mttr applies with --gpu-mtbf only"},
		{[]string{"--gpu-mttr", "1h", "--mtbf", "30d"}, "--gpu-mttr applies with --gpu-mtbf only"},
		{[]string{"--gpu-mtbf", "rarely"}, "--gpu-mtbf: must be a duration"},
		{[]string{"--gpu-mtbf", "36501d"}, "--gpu-mtbf: must be from 0 to"},
		{[]string{"--gpu-mtbf", "730d", "--gpu-mttr", "0"}, "--gpu-mttr: want a duration above zero"},
		{[]string{"--full-pass-every", "10m"}, "--full-pass-every applies with --pass-depth only"},
	} {
		args := append([]string{"sim", "--facility", smallFacility, "--workload", work, "--out", t.TempDir()}, tc.flags...)
		var out, errb bytes.Buffer
		if got := Main(args, &out, &errb); got != ExitUsage || !strings.Contains(errb.String(), tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.flags, got, errb.String(), ExitUsage, tc.msg)
		}
	}
}

// TestSimFlagsApply: the policy override, the shaping and failures reach
// the run.
func TestSimFlagsApply(t *testing.T) {
	work := filepath.Join("..", "..", "examples", "jobs-small-generated.jsonl")
	out := t.TempDir()
	text, err := runCLI(t, "sim", "--facility", smallFacility, "--workload", work, "--out", out,
		"--sample", "0.5", "--mtbf", "12h", "--mttr", "1h", "--policy", "order=shortest-first", "--seed", "3")
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	var sum struct {
		Jobs     int
		Failures int `json:"node_failure_kills"`
	}
	data, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Jobs < 60 || sum.Jobs > 140 || sum.Failures == 0 {
		t.Fatalf("a half sample with 12h MTBF gave %d of 200 jobs and %d failure kills", sum.Jobs, sum.Failures)
	}
}

// TestSimGPUFlagsApply: --gpu-mtbf and --gpu-mttr reach the run, which
// counts the kills and the time GPUs were down; an MTBF of years, beyond
// the ten years other durations may be, is taken.
func TestSimGPUFlagsApply(t *testing.T) {
	work := filepath.Join("..", "..", "examples", "jobs-small-generated.jsonl")
	type summary struct {
		Kills     int     `json:"gpu_failure_kills"`
		DownHours float64 `json:"gpu_down_hours"`
		NodeKills int     `json:"node_failure_kills"`
	}
	var sums []summary
	for _, mtbf := range []string{"20d", "36500d"} {
		out := t.TempDir()
		if text, err := runCLI(t, "sim", "--facility", smallFacility, "--workload", work, "--out", out,
			"--gpu-mtbf", mtbf, "--gpu-mttr", "6h", "--seed", "3"); err != nil {
			t.Fatalf("%v\n%s", err, text)
		}
		data, err := os.ReadFile(filepath.Join(out, "summary.json"))
		if err != nil {
			t.Fatal(err)
		}
		var sum summary
		if err := json.Unmarshal(data, &sum); err != nil {
			t.Fatal(err)
		}
		sums = append(sums, sum)
	}
	if s := sums[0]; s.Kills == 0 || s.DownHours <= 0 || s.NodeKills != 0 {
		t.Errorf("--gpu-mtbf 20d: %+v; want GPU failure kills and down hours, no node kills", s)
	}
	if s := sums[1]; s.Kills > sums[0].Kills || s.DownHours >= sums[0].DownHours {
		t.Errorf("--gpu-mtbf 100 years: %+v; want fewer failures than with 20d (%+v)", s, sums[0])
	}
}

// A trace file that cannot be read is named with its flag.
func TestSimPhillyFilesNamed(t *testing.T) {
	dir := t.TempDir()
	vc := filepath.Join(dir, "vc.csv")
	if err := os.WriteFile(vc, []byte("vc,node num\n6214e9,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		philly, vc, msg string
	}{
		{filepath.Join(dir, "missing.csv"), vc, "--philly: open "},
		{filepath.Join(dir, "missing.csv"), filepath.Join(dir, "none.csv"), "--vc-nodes: open "},
	} {
		var out, errb bytes.Buffer
		got := Main([]string{"sim", "--philly", tc.philly, "--vc-nodes", tc.vc, "--out", t.TempDir()}, &out, &errb)
		if got == 0 || !strings.Contains(errb.String(), tc.msg) {
			t.Errorf("--philly %s --vc-nodes %s: exit %d, stderr %q; want a failure naming %q", tc.philly, tc.vc, got, errb.String(), tc.msg)
		}
	}
}

// TestSimPhillySampleByRow: with --philly, --sample keeps each trace row
// by its row number (trace.Sample), whatever else is read. The Philly
// file was read whole, the jobs --vc-nodes cannot size were left out,
// and the sample was drawn by position in what remained, so leaving out
// one VC's jobs changed which jobs of the other VCs the same --seed
// kept: two runs at different VC sizes compared different samples.
func TestSimPhillySampleByRow(t *testing.T) {
	dir := t.TempDir()
	sample := filepath.Join("..", "trace", "testdata", "philly-sample.csv")
	kept := func(vcs string) map[string]bool {
		t.Helper()
		path := filepath.Join(dir, "vc.csv")
		if err := os.WriteFile(path, []byte("vc,node num\n"+vcs), 0o644); err != nil {
			t.Fatal(err)
		}
		if text, err := runCLI(t, "sim", "--philly", sample, "--vc-nodes", path, "--sample", "0.5", "--seed", "3", "--out", dir); err != nil {
			t.Fatalf("%v\n%s", err, text)
		}
		rows, err := os.ReadFile(filepath.Join(dir, "jobs.csv"))
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, row := range strings.Split(strings.TrimSpace(string(rows)), "\n")[1:] {
			f := strings.Split(row, ",")
			if f[1] != "ed69ec" && f[1] != "ee9e8c" {
				ids[f[0]] = true
			}
		}
		return ids
	}
	const sized = "6214e9,64\n7f04ca,32\n11cb48,16\nb436b2,64\ne13805,16\n103959,8\n2869ce,16\n0e4a51,32\n6c71a0,32\n"
	all, short := kept(sized+"ee9e8c,64\ned69ec,8\n"), kept(sized)
	if len(all) == 0 || len(all) > 250 {
		t.Fatalf("sample kept %d of the 292 jobs of the sized VCs", len(all))
	}
	if diff := cmp.Diff(all, short); diff != "" {
		t.Errorf("jobs of the same VCs kept by --sample 0.5 --seed 3, with and without two other VCs sized (-all +short):\n%s", diff)
	}
}

// TestSimNoJobs: a workload with no job (an empty job file, a Philly
// file with its header only, or one whose every job is left out) made
// carnot sim panic inside the twin ("index out of range [0] with length
// 0"). It is now a usage error naming the input.
func TestSimNoJobs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := write("empty.yaml", "# no jobs yet\n")
	header := write("header.csv", "timestamp,duration,num_gpus,gpu_time,cluster\n")
	other := write("other.csv", "timestamp,duration,num_gpus,gpu_time,cluster\n2017-10-01 00:00:00,10,1,10,zzz\n")
	vc := write("vc.csv", "vc,node num\n6214e9,64\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--facility", smallFacility, "--workload", empty}, "--workload " + empty + " holds no jobs; nothing to replay"},
		{[]string{"--philly", header, "--vc-nodes", vc}, "--philly " + header + " holds no jobs; nothing to replay"},
		{[]string{"--philly", other, "--vc-nodes", vc}, "--philly " + other + ": every job was left out (see the note above); nothing to replay"},
	} {
		var out, errb strings.Builder
		code := Main(append([]string{"sim", "--out", filepath.Join(dir, "out")}, tc.args...), &out, &errb)
		if code != ExitUsage || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errb.String(), ExitUsage, tc.want)
		}
	}
}

// TestSimPhillyTooManyNodes: --scale multiplies the VCs of --vc-nodes
// (up to 100,000 nodes each) by up to 1,000, and the replay facility was
// built whatever its size: 100,000 × 1,000 nodes is a hundred million
// model nodes, more memory than a machine has, where facility files stop
// at 100,000 nodes. The run is now refused before the facility is built.
func TestSimPhillyTooManyNodes(t *testing.T) {
	dir := t.TempDir()
	vc := filepath.Join(dir, "vc.csv")
	trace := filepath.Join(dir, "p.csv")
	if err := os.WriteFile(vc, []byte("vc,node num\nbig,100000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(trace, []byte("timestamp,duration,num_gpus,gpu_time,cluster\n2017-10-01 00:00:00,10,1,10,big\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb strings.Builder
	code := Main([]string{"sim", "--philly", trace, "--vc-nodes", vc, "--scale", "1.5", "--out", filepath.Join(dir, "out")}, &out, &errb)
	want := "--scale 1.5: the VCs of " + vc + " would have 150000 nodes, more than 100000, the most a facility holds; use a smaller --scale"
	if code != ExitUsage || !strings.Contains(errb.String(), want) {
		t.Errorf("exit %d, stderr %q; want %d and %q", code, errb.String(), ExitUsage, want)
	}
}

// TestWindowFractionOfASecond: submit times are whole seconds, so the
// window [FROM, TO) keeps a job at t when t ≥ ⌈FROM⌉ and t < ⌈TO⌉. A
// bound with a fraction of a second was cut down instead, so
// FROM 12:00:00.5 kept a job submitted at 12:00:00, half a second before
// the window opens, and TO 12:00:00.5 left it out though it came before.
func TestWindowFractionOfASecond(t *testing.T) {
	m := simModel{rate: 1, sample: 1, window: "2026-01-01T12:00:00.5Z,2026-01-01T13:00:00.5Z"}
	o, err := m.options()
	if err != nil {
		t.Fatal(err)
	}
	const noon = 1767268800 // 2026-01-01T12:00:00Z
	if o.Window.From != noon+1 || o.Window.To != noon+3601 {
		t.Errorf("window [%d, %d), want [%d, %d)", o.Window.From, o.Window.To, noon+1, noon+3601)
	}
}

// TestSimScaleBounds: a --scale above 1,000 (or infinite) was refused
// with "want a factor above 0", which it is: the message now gives both
// bounds.
func TestSimScaleBounds(t *testing.T) {
	dir := t.TempDir()
	for _, scale := range []string{"0", "NaN", "1001", "Inf"} {
		var out, errb strings.Builder
		code := Main([]string{"sim", "--philly", "p.csv", "--vc-nodes", "vc.csv", "--scale", scale, "--out", filepath.Join(dir, "out")}, &out, &errb)
		if want := "want a factor above 0 and at most 1000"; code != ExitUsage || !strings.Contains(errb.String(), want) {
			t.Errorf("--scale %s: exit %d, stderr %q; want %d and %q", scale, code, errb.String(), ExitUsage, want)
		}
	}
}
