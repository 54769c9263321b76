package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlanUnpricedEnergy: a scenario whose jobs run past the end of its
// grid series (a workload at the end of 2023 priced with the 2023
// series) draws energy that its cost and carbon leave out. carnot sim
// says so; carnot plan printed the understated cost without a word, and
// plan.html had no column for it, so a planner compared costs that
// were not comparable.
func TestPlanUnpricedEnergy(t *testing.T) {
	dir := t.TempDir()
	lab, _ := filepath.Abs(filepath.Join("..", "..", "examples", "plan", "lab.yaml"))
	set := filepath.Join(dir, "set.yaml")
	if err := os.WriteFile(set, []byte(`name: year-end
facility: `+lab+`
workload:
  batch: {jobs: 4, start: 2023-12-31T20:00:00Z, every: 30m, runtime: 8h, gpus: 8, tenants: [lab-a]}
grids:
  FR: {zone: FR}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	var outb, errb strings.Builder
	if code := Main([]string{"plan", set, "--out", out, "--parallel", "1"}, &outb, &errb); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, outb.String(), errb.String())
	}
	if want := "note: scenario facility-policy: "; !strings.Contains(errb.String(), want) ||
		!strings.Contains(errb.String(), "MWh drawn in hours no grid series prices") {
		t.Errorf("stderr has no note of the unpriced energy:\n%s", errb.String())
	}
	page, err := os.ReadFile(filepath.Join(out, "plan.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), `<td class="num" data-key="unpriced_mwh"`) {
		t.Error("plan.html has no unpriced energy column")
	}
}
