package scenario

import (
	"os"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/model"
)

// FuzzLoad: no scenario-set file makes the reader panic, and every
// error names the file.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"testdata/lab4.yaml", "testdata/livelock.yaml", "testdata/envelope.yaml", "testdata/deferral.yaml"} {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(smallSet))
	f.Add([]byte("policies: {a: {order: lifo}}\n"))
	f.Add([]byte("facility: f\nworkload: {generate: {jobs: 1e3, seed: .inf, start: 2023-03-01T00:00:00Z, load: 1e-1}}\n" +
		"facilities: {a: {gpu_scale: .nan, envelope_fraction: 1e400}}\npolicies: {a: {backfill_depth: 9223372036854775808}}\nmax_passes: 1.5\n"))
	f.Add([]byte("facility: f\nworkload: {batch: {jobs: 3, start: 2023-03-01T00:00:00Z, every: 1e3, runtime: .inf, gpus: 8.0, tenants: [a]}}\n"))
	f.Add([]byte("facility: f\nworkload: {batch: {jobs: 3, start: 2023-03-01T00:00:00Z, every: 1h, runtime: 4h, gpus: 8, tenants: [a, a, b]}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Load("set.yaml", data)
		if err != nil && !strings.Contains(err.Error(), "set.yaml") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}

// FuzzOverridePolicy: no key=value setting makes the policy override
// panic, and every error names the flag.
func FuzzOverridePolicy(f *testing.F) {
	for _, s := range []string{"backfill=false", "order=shortest-first", "preemption_rate_limit={max: 4, window: 1h}", "x", "=", "carbon_weight=0.3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, setting string) {
		_, err := facility.OverridePolicy(model.DefaultPolicy(), "--policy", []string{setting})
		if err != nil && !strings.Contains(err.Error(), "--policy") {
			t.Fatalf("error does not name the flag: %v", err)
		}
	})
}
