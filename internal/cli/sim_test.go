package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSimSmallExample(t *testing.T) {
	out := t.TempDir()
	work := filepath.Join("..", "..", "examples", "jobs-small-generated.jsonl")
	text, err := runCLI(t, "sim", "--facility", smallFacility, "--workload", work, "--out", out, "--log")
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	var sum struct {
		Jobs, Finished, NeverStarted int
		Violations                   int     `json:"envelope_violations"`
		Utilization                  float64 `json:"utilization_mean"`
		Jain                         float64 `json:"jain_index"`
		Timeline                     struct {
			Points      int
			Utilization []float64
			Queue       []int
		}
	}
	data, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Jobs != 200 || sum.Finished == 0 || sum.Finished+sum.NeverStarted > sum.Jobs || sum.Violations != 0 ||
		!(sum.Utilization > 0 && sum.Jain > 0) || sum.Timeline.Points == 0 || len(sum.Timeline.Queue) != sum.Timeline.Points {
		t.Errorf("summary %+v", sum)
	}
	if !strings.Contains(text, "note: no grid series covers site par1 during the run") {
		t.Errorf("no note that the run has no prices or carbon:\n%s", text)
	}
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if want := "report: " + filepath.Join(out, "report.html"); lines[len(lines)-1] != want {
		t.Errorf("last line %q, want %q", lines[len(lines)-1], want)
	}
	if strings.Contains(text, "\r") || strings.Contains(text, "virtual time") {
		t.Errorf("a progress line was written although stderr is not a terminal:\n%q", text)
	}
	page, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(page), "<!DOCTYPE html>") || strings.Count(string(page), "<svg") < 5 ||
		strings.Contains(string(page), "http://") || strings.Contains(string(page), "https://") {
		t.Errorf("report.html (%d bytes) is not the self-contained page expected", len(page))
	}
	rows, _ := os.ReadFile(filepath.Join(out, "jobs.csv"))
	if n := strings.Count(string(rows), "\n"); n != 201 {
		t.Errorf("jobs.csv has %d lines, want a header and 200 rows", n)
	}
	if header, _, _ := strings.Cut(string(rows), "\n"); !strings.HasSuffix(header, ",last_reason,sites,gpu_hours,deferrals,deadline,missed_deadline,failures,recaps") {
		t.Errorf("jobs.csv header %q", header)
	}
	if log, _ := os.ReadFile(filepath.Join(out, "events.log")); !strings.Contains(string(log), " start ") {
		t.Error("event log has no start")
	}
	// deterministic: a second run writes the same files
	out2 := t.TempDir()
	if _, err := runCLI(t, "sim", "--facility", smallFacility, "--workload", work, "--out", out2); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"summary.json", "jobs.csv", "report.html"} {
		a, _ := os.ReadFile(filepath.Join(out, f))
		b, _ := os.ReadFile(filepath.Join(out2, f))
		if string(a) != string(b) {
			t.Errorf("%s differs between two runs of the same inputs", f)
		}
	}
}

func TestSimPhillySample(t *testing.T) {
	dir := t.TempDir()
	vc := filepath.Join(dir, "vc.csv")
	if err := os.WriteFile(vc, []byte("vc,node num\n6214e9,64\n7f04ca,32\n11cb48,16\nb436b2,64\ne13805,16\n103959,8\nee9e8c,64\n2869ce,16\ned69ec,8\n0e4a51,32\n6c71a0,32\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sample := filepath.Join("..", "trace", "testdata", "philly-sample.csv")
	text, err := runCLI(t, "sim", "--philly", sample, "--vc-nodes", vc, "--scale", "0.25", "--out", dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if !strings.Contains(text, "finished") || !strings.Contains(text, "wrote ") || !strings.Contains(text, "report: ") {
		t.Errorf("output:\n%s", text)
	}
	if strings.Contains(text, "left out") {
		t.Errorf("every VC has a size, yet jobs were left out:\n%s", text)
	}
	// Without the sizes of ee9e8c and ed69ec, their 8 jobs are left out,
	// and the run says so.
	short := filepath.Join(dir, "vc-short.csv")
	if err := os.WriteFile(short, []byte("vc,node num\n6214e9,64\n7f04ca,32\n11cb48,16\nb436b2,64\ne13805,16\n103959,8\n2869ce,16\n0e4a51,32\n6c71a0,32\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	text, err = runCLI(t, "sim", "--philly", sample, "--vc-nodes", short, "--scale", "0.25", "--out", dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if want := "note: 8 of 300 jobs left out: their VCs (ed69ec, ee9e8c) have no size in " + short; !strings.Contains(text, want) {
		t.Errorf("no note of the jobs left out (want %q):\n%s", want, text)
	}
	// and summary.json, which a script reads, says so too
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Jobs    int      `json:"jobs"`
		LeftOut int      `json:"left_out"`
		Notes   []string `json:"notes"`
	}
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Jobs != 292 || sum.LeftOut != 8 || len(sum.Notes) != 1 || !strings.Contains(sum.Notes[0], "8 of 300 jobs left out") {
		t.Errorf("summary.json: jobs %d, left_out %d, notes %q; want 292, 8 and the note", sum.Jobs, sum.LeftOut, sum.Notes)
	}
	for _, bad := range [][]string{
		{"sim", "--facility", smallFacility, "--out", dir}, // a facility without a workload
		{"sim", "--philly", sample, "--out", dir},
		{"sim", "--philly", sample, "--vc-nodes", vc, "--facility", smallFacility, "--out", dir},
		{"sim", "--philly", sample, "--vc-nodes", vc, "--scale", "0", "--out", dir},
	} {
		var outb, errb strings.Builder
		if code := Main(bad, &outb, &errb); code != ExitUsage {
			t.Errorf("carnot %v: exit %d (%s), want %d", bad, code, errb.String(), ExitUsage)
		}
	}
}

// TestSimWarnsOfPartialGrid: a grid series that ends during the run
// makes the CLI say how much energy its cost and carbon leave out.
func TestSimWarnsOfPartialGrid(t *testing.T) {
	csv := filepath.Join(t.TempDir(), "fr.csv")
	rows := "datetime_utc,ci_direct_gco2_per_kwh,ci_lca_gco2_per_kwh,low_carbon_pct,renewable_pct,ci_estimated,price_eur_per_mwh,price_flag\n"
	for h := 0; h < 6; h++ { // 2026-01-01, 00:00 to 06:00: the run goes on for days
		rows += fmt.Sprintf("2026-01-01T%02d:00:00Z,30,50,90,40,0,80,\n", h)
	}
	if err := os.WriteFile(csv, []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	work := filepath.Join("..", "..", "examples", "jobs-small-generated.jsonl")
	text, err := runCLI(t, "sim", "--facility", smallFacility, "--workload", work, "--out", out, "--grid", "FR="+csv)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if !strings.Contains(text, "warning: site par1 drew ") || !strings.Contains(text, "in hours its grid series does not hold") {
		t.Errorf("no warning that the series ends during the run:\n%s", text)
	}
	var sum struct {
		Total struct {
			Facility float64 `json:"facility_mwh"`
			Unpriced float64 `json:"unpriced_mwh"`
			Cost     float64 `json:"cost_eur"`
		}
	}
	data, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &sum); err != nil {
		t.Fatal(err)
	}
	if !(sum.Total.Unpriced > 0 && sum.Total.Unpriced < sum.Total.Facility && sum.Total.Cost > 0) {
		t.Errorf("summary total %+v: want part of the energy unpriced and some cost", sum.Total)
	}
}

// TestSimNeedsSubmitTimes: a job file whose jobs have no submit_time
// replayed them at time 0, which the outputs read as "never": the jobs
// ran but summary.json counted them as never started, none finished.
// The twin refuses such a file, naming file, line and field.
func TestSimNeedsSubmitTimes(t *testing.T) {
	dir := t.TempDir()
	work := filepath.Join(dir, "jobs.jsonl")
	data := `{"id":"a","tenant":"lab-a","gpus":1,"runtime_limit":"1h","submit_time":"2026-01-05T08:00:00Z"}` + "\n" +
		`{"id":"b","tenant":"lab-a","gpus":1,"runtime_limit":"1h"}` + "\n"
	if err := os.WriteFile(work, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	text, err := runCLI(t, "sim", "--facility", smallFacility, "--workload", work, "--out", filepath.Join(dir, "out"))
	if want := work + ":2: jobs[1].submit_time: is required"; err == nil || !strings.Contains(text+err.Error(), want) {
		t.Fatalf("sim: %v\n%s\nwant an error %s…", err, text, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "summary.json")); err == nil {
		t.Error("summary.json was written for a workload the twin cannot replay")
	}
}

// TestSimGridZoneUnused: a --grid series for a zone no site draws from
// was dropped without a word (the bundled run with --grid DE=… cost 0
// EUR: its site is in FR, and --grid replaces the bundled series). It is
// a usage error naming the zone and the facility's zones.
func TestSimGridZoneUnused(t *testing.T) {
	csv := filepath.Join(t.TempDir(), "de.csv")
	rows := "datetime_utc,ci_direct_gco2_per_kwh,ci_lca_gco2_per_kwh,low_carbon_pct,renewable_pct,ci_estimated,price_eur_per_mwh,price_flag\n" +
		"2026-01-01T00:00:00Z,300,400,50,40,0,80,\n"
	if err := os.WriteFile(csv, []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join("..", "..", "examples", "jobs-small-generated.jsonl")
	for _, args := range [][]string{
		{"--facility", smallFacility, "--workload", work},
		{}, // the bundled default
	} {
		out := filepath.Join(t.TempDir(), "out")
		args = append([]string{"sim", "--out", out, "--grid", "DE=" + csv}, args...)
		var outb, errb bytes.Buffer
		want := "--grid DE=" + csv + ": no site of the facility draws from zone DE (its sites' zones: FR)"
		if code := Main(args, &outb, &errb); code != ExitUsage || !strings.Contains(errb.String(), want) {
			t.Errorf("carnot %v: exit %d, stderr %q; want exit %d and %q", args, code, errb.String(), ExitUsage, want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("carnot %v: wrote %s", args, out)
		}
	}
}

// TestSimGridSpecMalformed: a --grid without a zone (=FILE) or without a
// file for a zone no site has (DE=) was told no site draws from zone ""
// or DE, not what is wrong with the flag; it is now told its form.
func TestSimGridSpecMalformed(t *testing.T) {
	for _, g := range []string{"=fr.csv", "DE=", "FR="} {
		var outb, errb bytes.Buffer
		want := "--grid \"" + g + "\": want ZONE=FILE, e.g. FR=fr-2023-hourly.csv"
		if code := Main([]string{"sim", "--out", t.TempDir(), "--grid", g}, &outb, &errb); code != ExitUsage || !strings.Contains(errb.String(), want) {
			t.Errorf("--grid %s: exit %d, stderr %q; want exit %d and %q", g, code, errb.String(), ExitUsage, want)
		}
	}
}

// TestSimOutputsAreTheRunsOwn: a run without --log into the directory of
// an earlier run with --log left that run's events.log beside its own
// summary.json, as if it were its log. A run removes the outputs of an
// earlier one before it starts.
func TestSimOutputsAreTheRunsOwn(t *testing.T) {
	out := t.TempDir()
	work := filepath.Join("..", "..", "examples", "jobs-small-generated.jsonl")
	if text, err := runCLI(t, "sim", "--facility", smallFacility, "--workload", work, "--out", out, "--log"); err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if _, err := os.Stat(filepath.Join(out, "events.log")); err != nil {
		t.Fatal(err)
	}
	if text, err := runCLI(t, "sim", "--facility", smallFacility, "--workload", work, "--out", out, "--sample", "0.5"); err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if _, err := os.Stat(filepath.Join(out, "events.log")); err == nil {
		t.Error("the second run, without --log, left the first run's events.log")
	}
}
