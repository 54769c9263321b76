package scenario

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// docBlock returns the n-th (from 0) fenced block of the given language
// in a Markdown file.
func docBlock(t *testing.T, path, lang string, n int) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(string(b), "```"+lang+"\n")
	if len(parts) <= n+1 {
		t.Fatalf("%s: no %s block number %d", path, lang, n)
	}
	block, _, ok := strings.Cut(parts[n+1], "```")
	if !ok {
		t.Fatalf("%s: %s block number %d does not end", path, lang, n)
	}
	return block
}

// TestPlanDocExampleBuilds checks the annotated scenario set of
// docs/plan.md: placed beside the lab facility it refers to, it loads and
// every scenario builds (carnot plan --check), and the plan.json sketch
// below it names the scenarios and the baseline that set gives.
func TestPlanDocExampleBuilds(t *testing.T) {
	const doc = "../../docs/plan.md"
	dir := t.TempDir()
	lab, err := os.ReadFile("../../examples/plan/lab.yaml")
	if err != nil {
		t.Fatal(err)
	}
	set := docBlock(t, doc, "yaml", 0)
	// lyon.yaml, the example's other facility file, stands in as the lab
	for name, data := range map[string]string{"lab.yaml": string(lab), "lyon.yaml": string(lab), "set.yaml": set} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s, err := LoadFile(filepath.Join(dir, "set.yaml"))
	if err != nil {
		t.Fatalf("the example of %s does not load:\n%v", doc, err)
	}
	grid := func(zone string) (model.GridSeries, error) { return fakeSeries(zone), nil }
	cases, err := Prepare(s, Options{Grid: grid})
	if err != nil {
		t.Fatalf("the example of %s does not build:\n%v", doc, err)
	}
	sketch := docBlock(t, doc, "json", 0)
	if want := `"baseline": "` + s.Baseline + `"`; !strings.Contains(sketch, want) {
		t.Errorf("the plan.json sketch of %s lacks %s", doc, want)
	}
	if want := `"name": "` + cases[0].Scenario.Name + `"`; !strings.Contains(sketch, want) {
		t.Errorf("the plan.json sketch of %s lacks the first scenario, %s", doc, want)
	}
}
