package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlanOutKeepsScenarioSet: `carnot plan plan.json --out .` ran every
// scenario and then wrote its plan.json over the scenario set it read,
// which was gone. A scenario set (or --grid file) that is one of the
// files plan writes into --out is refused as a usage error, and stays.
func TestPlanOutKeepsScenarioSet(t *testing.T) {
	dir := t.TempDir()
	lab, err := os.ReadFile(filepath.Join("..", "..", "examples", "plan", "lab.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(dir, "lab.yaml"), string(lab))
	set := filepath.Join(dir, "plan.json")
	const text = `{"name": "tiny", "facility": "lab.yaml",
 "workload": {"generate": {"jobs": 20, "seed": 7, "start": "2023-03-01T00:00:00Z", "load": 0.8}},
 "policies": {"fifo": {"fair_share": false}, "fs": {"fair_share": true}}}
`
	writeTestFile(t, set, text)
	var outb, errb bytes.Buffer
	code := Main([]string{"plan", set, "--out", dir}, &outb, &errb)
	if code != ExitUsage || !strings.Contains(errb.String(), set) || !strings.Contains(errb.String(), "--out") {
		t.Errorf("plan %s --out %s: exit %d, stderr %q; want %d naming the set and --out", set, dir, code, errb.String(), ExitUsage)
	}
	if got, err := os.ReadFile(set); err != nil || string(got) != text {
		t.Errorf("the scenario set was replaced or removed: %v", err)
	}
}
