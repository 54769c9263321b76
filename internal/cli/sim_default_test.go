package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSimDefault runs `carnot sim --out DIR` with no input flags: the
// bundled scenario, which needs no file beside the repository.
func TestSimDefault(t *testing.T) {
	if testing.Short() {
		t.Skip("replays 3,734 jobs; skipped with -short")
	}
	out := t.TempDir()
	text, err := runCLI(t, "sim", "--out", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if !strings.Contains(text, "3734 jobs: 3734 finished") || !strings.Contains(text, "site par1:") ||
		!strings.Contains(text, "report: "+filepath.Join(out, "report.html")) {
		t.Errorf("output:\n%s", text)
	}
	var sum struct {
		Start, End     string
		Jobs, Finished int
		NeverStarted   int `json:"never_started"`
		Violations     int `json:"envelope_violations"`
		Sites          map[string]struct {
			All struct {
				CostEUR float64 `json:"cost_eur"`
				CarbonT float64 `json:"carbon_tco2e"`
			}
		}
	}
	data, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Jobs != 3734 || sum.Finished != sum.Jobs || sum.NeverStarted != 0 || sum.Violations != 0 {
		t.Errorf("summary %+v", sum)
	}
	// The shifted trace runs inside 2023, under the FR grid series.
	if !strings.HasPrefix(sum.Start, "2023-09-24") || !strings.HasPrefix(sum.End, "2023-") {
		t.Errorf("replay from %s to %s, want from 2023-09-24 and within 2023", sum.Start, sum.End)
	}
	if s := sum.Sites["par1"].All; !(s.CostEUR > 0 && s.CarbonT > 0) {
		t.Errorf("site par1: cost %g EUR, carbon %g t; want both above 0 (the FR grid series applies)", s.CostEUR, s.CarbonT)
	}
	rows, err := os.ReadFile(filepath.Join(out, "jobs.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(rows), "\n"); n != 3735 {
		t.Errorf("jobs.csv has %d lines, want a header and 3734 rows", n)
	}
}

func TestSimDefaultFlags(t *testing.T) {
	if got := newSimCmd().Flags().Lookup("out").DefValue; got != defaultSimOut {
		t.Errorf("--out defaults to %q, want %q", got, defaultSimOut)
	}
	dir := t.TempDir()
	// Half-given inputs are still usage errors, not the default run.
	for _, bad := range [][]string{
		{"sim", "--facility", smallFacility, "--out", dir},
		{"sim", "--workload", smallJobs, "--out", dir},
		{"sim", "--vc-nodes", "vc.csv", "--out", dir},
		{"sim", "--grid", "FR", "--out", dir},
	} {
		var outb, errb strings.Builder
		if code := Main(bad, &outb, &errb); code != ExitUsage {
			t.Errorf("carnot %v: exit %d (%s), want %d", bad, code, errb.String(), ExitUsage)
		}
	}
	// --grid replaces the bundled series; a missing file fails before the run.
	var outb, errb strings.Builder
	if code := Main([]string{"sim", "--grid", "FR=" + filepath.Join(dir, "missing.csv"), "--out", dir}, &outb, &errb); code != ExitFailure || !strings.Contains(errb.String(), "missing.csv") {
		t.Errorf("--grid with a missing file: exit %d (%s), want %d naming the file", code, errb.String(), ExitFailure)
	}
}
