package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSimBoundsPasses: a gang of four nodes that fail every hour on
// average and take four hours to repair is almost never on four nodes
// up for the hour it needs to checkpoint, so the run never ends. carnot
// sim allowed ten million passes (hours of wall time, with nothing
// printed off a terminal) where carnot plan allows 200 per job + 10,000;
// it now bounds them as carnot plan does, and --max-passes raises the
// bound.
func TestSimBoundsPasses(t *testing.T) {
	dir := t.TempDir()
	fac := filepath.Join(dir, "fac.yaml")
	jobs := filepath.Join(dir, "jobs.jsonl")
	if err := os.WriteFile(fac, []byte(`name: flaky
sites:
  - id: a
    country: FR
    operator: o
    power_envelope_kw: 100
    pue: 1.2
    halls:
      - id: h
        racks:
          - id: r
            nodes:
              - {names: "n[1-4]", gpu_model: H100, gpus: 8, cpus: 112, memory_gib: 2048, base_watts: 2000}
tenants:
  - {name: t, quota: {H100: {nominal: 32}}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jobs, []byte(`{"id":"g","tenant":"t","replicas":4,"gpus":8,"gpu_model":["H100"],"runtime_limit":360000,"submit_time":1677628800,"command":["x"]}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{nil, "more than 10200 scheduling passes"},
		{[]string{"--max-passes", "300"}, "more than 300 scheduling passes"},
	} {
		args := append([]string{"sim", "--facility", fac, "--workload", jobs, "--mtbf", "1h", "--mttr", "4h", "--out", filepath.Join(dir, "out")}, tc.flags...)
		done := make(chan string, 1)
		go func() {
			var out, errb strings.Builder
			code := Main(args, &out, &errb)
			done <- strings.TrimSpace(errb.String()) + " (exit " + string(rune('0'+code)) + ")"
		}()
		select {
		case got := <-done:
			if !strings.Contains(got, tc.want) || !strings.Contains(got, "--max-passes") {
				t.Errorf("%v: %s; want an error with %q naming --max-passes", tc.flags, got, tc.want)
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("%v: the run had not ended after a minute", tc.flags)
		}
	}
}
