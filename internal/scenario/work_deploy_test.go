package scenario

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/carnot-dc/carnot/internal/bundled"
)

// TestWorkOfAShortDeployment: work_gpu_hours_window scaled a finished
// job's GPU time by its GPUs × runtime limit over the GPU-seconds it
// held, capped at 1. For a deployment that ran below its replica count
// the GPUs it asked for are more than it held, so the ratio reached 1
// even when it ran capped: a deployment that got half its replicas and
// ran at 0.6 speed counted as work at full speed. A deployment's work is
// now its GPU time at the speed of each stretch (it loses no work): 320
// GPU-hours for 4 of 8 replicas of 8 GPUs serving 10 hours, whatever
// its speed, where the GPU-hours it held grow as its speed falls.
func TestWorkOfAShortDeployment(t *testing.T) {
	dir := t.TempDir()
	lab, err := filepath.Abs(filepath.Join("testdata", "lab4.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	jobs := `{"id": "dep", "kind": "deployment", "tenant": "lab-a", "priority_class": "high", "replicas": 8, "min_replicas": 4, "gpus": 8, "runtime_limit": "10h", "submit_time": "2023-05-01T00:00:00Z"}
{"id": "tail", "tenant": "lab-b", "gpus": 1, "runtime_limit": "1h", "submit_time": "2023-05-02T12:00:00Z"}
`
	set := "name: dep\nfacility: " + lab + "\nworkload: {file: jobs.jsonl}\npolicies: {shared: {power_share: true}}\n" +
		"facilities: {full: {}, env50: {envelope_fraction: 0.5}}\ngrids: {FR: {zone: FR}}\n"
	for name, text := range map[string]string{"jobs.jsonl": jobs, "set.yaml": set} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := LoadFile(filepath.Join(dir, "set.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cases, err := Prepare(s, Options{Grid: bundled.Grid})
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(context.Background(), cases, RunOptions{Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out {
		m := o.Metrics
		t.Logf("%s: held %.3f GPU-h, work %.3f GPU-h, capped %.3f", o.Name, m.GPUHoursWindow, m.WorkGPUHoursWindow, m.CappedGPUHours)
		if math.Abs(m.WorkGPUHoursWindow-320) > 0.01 {
			t.Errorf("%s: work %.3f GPU-h, want 320 (4 replicas × 8 GPUs × 10 h at full speed); held %.3f", o.Name, m.WorkGPUHoursWindow, m.GPUHoursWindow)
		}
	}
	if len(out) != 2 || out[1].Metrics.GPUHoursWindow < 400 {
		t.Errorf("the capped scenario held %.3f GPU-h; the test wants the deployment to run well below full speed", out[1].Metrics.GPUHoursWindow)
	}
}
