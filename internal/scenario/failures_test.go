package scenario

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/bundled"
)

// TestPlanCarriesFailures: plan.json's metrics had none of the failure
// counts of each scenario's summary.json, so a set comparing mtbf or
// gpu_mtbf variants showed the same-looking rows with nothing saying
// how many jobs the failures killed. The metrics carry summary.json's
// node_failure_kills, gpu_failure_kills, gpu_failure_lost_gpu_hours and
// gpu_down_hours, and the page shows them when some scenario has any.
func TestPlanCarriesFailures(t *testing.T) {
	s, err := Load("testdata/failures.yaml", []byte(`
facility: lab4.yaml
workload:
  generate: {jobs: 60, seed: 5, start: 2023-05-01T00:00:00Z, load: 0.9}
facilities:
  sound: {}
  flaky: {mtbf: 2d, mttr: 2h}
  worn: {gpu_mtbf: 20d, gpu_mttr: 6h}
grids:
  FR: {zone: FR}
`))
	if err != nil {
		t.Fatal(err)
	}
	cases, err := Prepare(s, Options{Grid: bundled.Grid})
	if err != nil {
		t.Fatal(err)
	}
	sums, out := runSummaries(t, cases)
	var js bytes.Buffer
	if err := NewPlan(s, out).WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var p struct {
		Scenarios []struct {
			Name    string         `json:"name"`
			Metrics map[string]any `json:"metrics"`
		} `json:"scenarios"`
	}
	if err := json.Unmarshal(js.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	for i, sc := range p.Scenarios {
		sum := sums[i]
		for key, want := range map[string]float64{
			"node_failure_kills": float64(sum.Failures), "gpu_failure_kills": float64(sum.GPUFailures),
			"gpu_failure_lost_gpu_hours": sum.GPUFailureLost, "gpu_down_hours": sum.GPUDownHours,
		} {
			if got, ok := sc.Metrics[key]; !ok || got != want {
				t.Errorf("scenario %s: plan.json's %s is %v (present %t), summary.json's %v", sc.Name, key, got, ok, want)
			}
		}
	}
	if sums[0].Failures+sums[0].GPUFailures != 0 || sums[1].Failures == 0 || sums[2].GPUFailures == 0 || sums[2].GPUDownHours <= 0 {
		t.Fatalf("the runs did not fail as meant: node kills %d %d, GPU kills %d %d",
			sums[0].Failures, sums[1].Failures, sums[0].GPUFailures, sums[2].GPUFailures)
	}
	keys := []string{"node_failure_kills", "gpu_failure_kills", "gpu_failure_lost_gpu_hours", "gpu_down_hours"}
	var h strings.Builder
	if err := NewPlan(s, out).WriteHTML(&h); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if n := strings.Count(h.String(), `data-key="`+k+`"`); n != 1+len(out) {
			t.Errorf("plan.html has %d elements of %s, want a header and a cell per scenario (%d)", n, k, 1+len(out))
		}
	}
	// A set without failures keeps the page as it was.
	h.Reset()
	if err := NewPlan(s, out[:1]).WriteHTML(&h); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.Contains(h.String(), `data-key="`+k+`"`) {
			t.Errorf("plan.html of scenarios without failures has a column %s", k)
		}
	}
}
