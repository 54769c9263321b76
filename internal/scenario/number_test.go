package scenario

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestNumberForms: a scenario set refused gpu_scale: 1e-1 and load: 1e0
// as "not a number" (YAML 1.2 numbers the parser leaves as strings),
// called .inf and .nan only "must be a number", and showed 1e3 or an
// integer beyond int64 in a count as a quoted string. Numbers are now
// read as the facility file reads them, and each refusal names the
// problem, on the field's line.
func TestNumberForms(t *testing.T) {
	const gen = "workload: {generate: {jobs: 5, start: 2023-03-01T00:00:00Z, %s}}"
	const batch = "workload: {batch: {jobs: 3, start: 2023-03-01T00:00:00Z, every: 1h, runtime: 4h, gpus: 8, tenants: [a], %s}}"
	for _, tc := range []struct{ line, want string }{
		{"workload: {file: j}\nfacilities: {a: {gpu_scale: 1e-1}}", ""},
		{"workload: {file: j}\nfacilities: {a: {gpu_scale: 1e3}}", "s.yaml:3: facilities.a.gpu_scale: must be above 0 and at most 16 (got 1000)"},
		{"workload: {file: j}\nfacilities: {a: {gpu_scale: .inf}}", "s.yaml:3: facilities.a.gpu_scale: .inf is not a finite number; use a number such as 0.8 or 1.25"},
		{"workload: {file: j}\nfacilities: {a: {envelope_fraction: .nan}}", "s.yaml:3: facilities.a.envelope_fraction: .nan is not a finite number; use a number such as 0.8 or 1.25"},
		{"workload: {file: j}\nfacilities: {a: {envelope_fraction: 1e400}}", "s.yaml:3: facilities.a.envelope_fraction: 1e400 is beyond any usable number; use a number such as 0.8 or 1.25"},
		{"workload: {file: j}\nfacilities: {a: {envelope_fraction: '0.8'}}", `s.yaml:3: facilities.a.envelope_fraction: must be a number such as 0.8 or 1.25 (got "0.8")`},
		{in(gen, "load: 1e0"), ""},
		{in(gen, "load: -.inf"), "s.yaml:2: workload.generate.load: -.inf is not a finite number; use a number such as 0.8 or 1.25"},
		{in(gen, "seed: 1e3"), "s.yaml:2: workload.generate.seed: 1e3 is written as a decimal number; write 1000"},
		{in(gen, "seed: 99999999999999999999"), "s.yaml:2: workload.generate.seed: 99999999999999999999 is out of range; use a whole number from -9007199254740992 to 9007199254740992"},
		{"workload: {generate: {jobs: 1e3, start: 2023-03-01T00:00:00Z}}", "s.yaml:2: workload.generate.jobs: 1e3 is written as a decimal number; write 1000"},
		{"workload: {generate: {jobs: .inf, start: 2023-03-01T00:00:00Z}}", "s.yaml:2: workload.generate.jobs: .inf is not a finite number; use a whole number from 1 to 1000000"},
		{in(batch, "replicas: 1.5"), "s.yaml:2: workload.batch.replicas: 1.5 is not a whole number; use a whole number from 1 to 100000"},
		{in(batch, "slack: 1e3"), `s.yaml:2: workload.batch.slack: 1e3 is written as a decimal number; write 1000 seconds, or a duration such as "90m", "4h" or "2d"`},
		{in(batch, "slack: .inf"), `s.yaml:2: workload.batch.slack: .inf is not a finite number; use whole seconds or a duration such as "90m", "4h" or "2d", from 0 to 1 year (365d)`},
		{"workload: {file: j, flexible: {share: .nan, slack: 2h}}", "s.yaml:2: workload.flexible.share: .nan is not a finite number; use a number such as 0.8 or 1.25"},
		{"workload: {file: j}\nmax_passes: 9223372036854775808", "s.yaml:3: max_passes: 9223372036854775808 is out of range; use a whole number from 1 to 1000000000"},
		{"workload: {file: j}\npolicies: {a: {backfill_depth: 1e3}}", "s.yaml:3: policies.a.backfill_depth: 1e3 is written as a decimal number; write 1000"},
		{"workload: {file: j}\npolicies: {a: {victim_ratio: 9223372036854775808}}", "s.yaml:3: policies.a.victim_ratio: 9223372036854775808 is out of range; use a whole number from 0 to 1000000"},
		{"workload: {file: j}\npolicies: {a: {carbon_weight: .inf}}", "s.yaml:3: policies.a.carbon_weight: .inf is not a finite number"},
		{"workload: {file: j}\npolicies: {a: {preemption_rate_limit: {max: -1}}}", "s.yaml:3: policies.a.preemption_rate_limit.max: -1 is out of range; use a value from 0 to 1000000"},
	} {
		_, err := Load("s.yaml", []byte("facility: f\n"+tc.line+"\n"))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.line, diff)
		}
	}
}

// in puts s in place of format's %s.
func in(format, s string) string { return strings.Replace(format, "%s", s, 1) }

// TestBatchTenantsRepeat: a batch's tenants take turns, so a tenant
// named twice takes two turns; unlike the sets of job and facility
// files, the list keeps its repeats.
func TestBatchTenantsRepeat(t *testing.T) {
	s, err := Load("s.yaml", []byte("facility: f\n"+in(
		"workload: {batch: {jobs: 3, start: 2023-03-01T00:00:00Z, every: 1h, runtime: 4h, gpus: 8, %s}}", "tenants: [a, a, b]")+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "a", "b"}, s.Workload.Batch.Tenants); diff != "" {
		t.Errorf("tenants (-want +got):\n%s", diff)
	}
}
