package scenario

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/bundled"
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

// FuzzFacilityVariant: no facility variant of a plan file makes Prepare
// panic; every error names the set's file; and every variant it builds
// keeps the facility file's rules: written out, it loads back.
func FuzzFacilityVariant(f *testing.F) {
	for _, s := range []string{
		"{a: {}}",
		"{a: {gpu_scale: 1.25}, b: {envelope_fraction: 0.8}}",
		"{a: {gpu_scale: 0.5, envelope_fraction: 1}}",
		"{a: {power_caps_kw: {par1/h1: 18}}, b: {power_caps_kw: {par1/h1/r1: 12}}, c: {power_caps_kw: {par1: 25}}}",
		"{a: {envelope_fraction: 0.5, power_caps_kw: {par1/h1/r1: 30}}}",
		"{a: {gpu_scale: 3, power_caps_kw: {par1/h1: 1e9}}}",
		"{a: {mtbf: 30d, mttr: 1h}}",
		"{a: {gpu_mtbf: 730d, gpu_mttr: 1d}, b: {mtbf: 30d, gpu_mtbf: 36500d}}",
		"{a: {facility: testdata/lab4.yaml, gpu_scale: 2}}",
		"{a: {power_caps_kw: {par1/h1/r1: 0}}, b: {power_caps_kw: {nowhere: 1}}}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, facilities string) {
		set := "facility: testdata/lab4.yaml\nworkload: {generate: {jobs: 4, seed: 1, start: 2023-05-01T00:00:00Z}}\n" +
			"grids: {FR: {zone: FR}}\nfacilities: " + facilities + "\n"
		s, err := Load("set.yaml", []byte(set))
		if err != nil {
			return // FuzzLoad checks the reader's errors
		}
		cases, err := Prepare(s, Options{Grid: bundled.Grid})
		if err != nil {
			if !strings.Contains(err.Error(), "set.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, c := range cases {
			var buf bytes.Buffer
			if err := facility.Write(&buf, c.Config.Facility); err != nil {
				t.Fatalf("%s: Write: %v", c.Scenario.Name, err)
			}
			if _, err := facility.Load("variant.yaml", buf.Bytes()); err != nil {
				t.Fatalf("%s: the variant's facility breaks the facility file's rules:\n%v\n%s", c.Scenario.Name, err, buf.String())
			}
		}
	})
}

// FuzzWorkload: no workload section of a plan file makes Prepare panic
// (generated jobs, a batch, shift_to, flexible, on the lab4 facility),
// and every error names the set's file. Workloads of more than 300 jobs
// are left out: their cost is the generator's, not the reader's.
func FuzzWorkload(f *testing.F) {
	for _, s := range []string{
		"{generate: {jobs: 20, seed: 1, start: 2023-05-01T00:00:00Z}}",
		"{generate: {jobs: 20, seed: 1, start: 2023-05-01T00:00:00Z, load: 0.5}, flexible: {share: 0.3, slack: 4h}}",
		"{batch: {jobs: 5, start: 2023-05-01T00:00:00Z, every: 1h, runtime: 4h, gpus: 8, replicas: 2, tenants: [lab-a, lab-b], slack: 2h}}",
		"{batch: {jobs: 5, start: 2023-05-01T00:00:00Z, every: 1s, runtime: 1s, gpus: 64, tenants: [lab-c], priority_class: high}}",
		"{generate: {jobs: 3, start: 2023-05-01T00:00:00Z, load: 1e-9}, shift_to: 2023-12-31T23:00:00Z}",
		"{generate: {jobs: 3, start: 1970-01-01T00:00:01Z, load: 1e9}, shift_to: 9999-12-31T23:59:59Z}",
		"{batch: {jobs: 300, start: 2023-05-01T00:00:00Z, every: 1ns, runtime: 1h, gpus: 1, tenants: [lab-a]}, flexible: {share: 1, slack: 0s}}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, workload string) {
		set := "facility: testdata/lab4.yaml\ngrids: {FR: {zone: FR}}\nworkload: " + workload + "\n"
		s, err := Load("set.yaml", []byte(set))
		if err != nil {
			return // FuzzLoad checks the reader's errors
		}
		if g := s.Workload.Generate; g != nil && g.Jobs > 300 || s.Workload.Batch != nil && s.Workload.Batch.Jobs > 300 || s.Workload.File != "" {
			return
		}
		if _, err := Prepare(s, Options{Grid: bundled.Grid}); err != nil && !strings.Contains(err.Error(), "set.yaml") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}
