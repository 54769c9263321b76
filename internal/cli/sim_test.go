package cli

import (
	"encoding/json"
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
	if header, _, _ := strings.Cut(string(rows), "\n"); !strings.HasSuffix(header, ",last_reason,sites,gpu_hours,deferrals,deadline,missed_deadline,failures") {
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
