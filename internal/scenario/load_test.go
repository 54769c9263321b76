package scenario

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/yamlin"
)

func TestLoadCrossProduct(t *testing.T) {
	s, err := Load("dir/set.yaml", []byte(`
name: demo
facility: lab.yaml
workload: {generate: {jobs: 10, seed: 1, start: 2023-03-01T00:00:00Z}}
policies:
  fifo: {fair_share: false, backfill: false}
  default: {}
facilities:
  x1: {}
  x1.25: {gpu_scale: 1.25, envelope_fraction: 0.8}
grids:
  FR: {zone: FR}
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, sc := range s.Scenarios {
		a := s.Axes(sc)
		got = append(got, sc.Name+"="+strings.Join(a[:], ","))
	}
	want := []string{"fifo+x1=fifo,x1,FR", "fifo+x1.25=fifo,x1.25,FR", "default+x1=default,x1,FR", "default+x1.25=default,x1.25,FR"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("scenarios (-want +got):\n%s", diff)
	}
	if s.Facility != "dir/lab.yaml" || s.Workload.Generate.Jobs != 10 || s.Facilities[1].GPUScale != 1.25 || s.Facilities[1].EnvelopeFraction != 0.8 {
		t.Errorf("decoded %+v", s)
	}
	if got := s.Policies[0].describe(); got != "fair_share=false backfill=false" {
		t.Errorf("describe = %q", got)
	}
}

func TestLoadExplicitAndDefaults(t *testing.T) {
	s, err := Load("set.yaml", []byte(`
facility: f.yaml
workload: {file: jobs.jsonl}
policies: {a: {}, b: {deferral: false}}
scenarios:
  - {policy: b}
  - {name: first, policy: a}
baseline: first
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, sc := range s.Scenarios {
		a := s.Axes(sc)
		got = append(got, sc.Name+"="+strings.Join(a[:], ","))
	}
	if diff := cmp.Diff([]string{"b=b,base,own-zones", "first=a,base,own-zones"}, got); diff != "" {
		t.Errorf("scenarios (-want +got):\n%s", diff)
	}
}

// TestLoadErrors checks that every problem is reported as
// file:line: field: message, all of them at once.
func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"empty", ``, []string{"s.yaml: empty scenario set; start with facility:, workload: and policies: (see docs/plan.md)"}},
		{"syntax", "facility: [", []string{"s.yaml:1: invalid YAML"}},
		{"missing", "name: x\n", []string{"s.yaml:1: missing facility:", "s.yaml:1: missing workload:"}},
		{"unknown", "facility: f\nworkload: {file: j}\npolicy: {}\n", []string{`s.yaml:3: policy: unknown field; a scenario set has name, facility, workload`}},
		{"workload", "facility: f\nworkload:\n  generate: {jobs: 0, start: 2023}\n  flexible: {share: 2}\n", []string{
			"s.yaml:3: workload.generate.jobs: must be from 1 to 1000000 (got 0)",
			"s.yaml:3: workload.generate.start: must be an RFC 3339 time",
			"s.yaml:4: workload.flexible.share: must be ≥ 0 and at most 1 (got 2)",
			"s.yaml:4: workload.flexible: missing slack:"}},
		// a fraction of a second was cut off without a word; job files
		// refuse it
		{"fraction", "facility: f\nworkload: {file: j, shift_to: 2023-01-01T00:00:00.5Z}\n", []string{
			`s.yaml:2: workload.shift_to: must be whole seconds (got "2023-01-01T00:00:00.5Z")`}},
		{"no source", "facility: f\nworkload: {shift_to: 2023-01-01T00:00:00Z}\n", []string{"s.yaml:2: workload: give at least one of file:, generate: and batch:"}},
		{"batch", "facility: f\nworkload:\n  batch: {jobs: 3, every: 0s}\n", []string{
			"s.yaml:3: workload.batch.every: must be above 0", "s.yaml:3: workload.batch: missing start:",
			"s.yaml:3: workload.batch: missing runtime:", "s.yaml:3: workload.batch: missing gpus:", "s.yaml:3: workload.batch: missing tenants:"}},
		{"policies", "facility: f\nworkload: {file: j}\npolicies:\n  fifo: {fair_share: nope, backfil: false}\n  bad name: {}\n  ok: {power: false, power_capping: true}\n", []string{
			"s.yaml:4: policies.fifo.fair_share: must be true or false",
			`s.yaml:4: policies.fifo.backfil: unknown field (did you mean "backfill"?)`,
			`s.yaml:5: policies: name "bad name": use 1–40 letters`,
			"s.yaml:6: policies.ok.power_capping: power capping needs power accounting"}},
		{"policies together", "facility: f\nworkload: {file: j}\npolicies:\n  capped:\n    power: false\n    power_capping: true\n", []string{
			"s.yaml:6: policies.capped.power_capping: power capping needs power accounting"}},
		// an empty axis was refused "(got a mapping)": what it got was
		// what it asked for, but with no variant in it
		{"empty axis", "facility: f\nworkload: {file: j}\nfacilities: {}\n", []string{
			"s.yaml:3: facilities: must be a mapping of names to variants, e.g. facilities: {base: {}} (got an empty mapping)"}},
		{"empty scenarios", "facility: f\nworkload: {file: j}\nscenarios: []\n", []string{
			"s.yaml:3: scenarios: must be a list of {name, policy, facility, grid} (got an empty list)"}},
		{"envelope fraction", "facility: f\nworkload: {file: j}\nfacilities:\n  big: {gpu_scale: 4.8, envelope_fraction: 4.8}\n  huge: {envelope_fraction: 17}\n", []string{
			"s.yaml:5: facilities.huge.envelope_fraction: must be above 0 and at most 16 (got 17)"}},
		{"failures", "facility: f\nworkload: {file: j}\nfacilities:\n  a: {mtbf: 0s}\n  b: {mttr: 4h}\n  c: {mtbf: 1.5}\n", []string{
			"s.yaml:4: facilities.a.mtbf: must be above 0 (leave it out for nodes that never fail)",
			"s.yaml:5: facilities.b: mttr without mtbf",
			"s.yaml:6: facilities.c.mtbf:"}},
		// a GPU's MTBF may be years (up to a hundred), its MTTR up to one
		{"gpu failures", "facility: f\nworkload: {file: j}\nfacilities:\n  a: {gpu_mtbf: 0s}\n  b: {gpu_mttr: 4h, mtbf: 30d}\n  c: {gpu_mtbf: 1.5}\n  d: {gpu_mtbf: 36501d}\n  e: {gpu_mtbf: 36500d, gpu_mttr: 366d}\n  f: {gpu_mtbf: 730d, gpu_mttr: 2d}\n", []string{
			"s.yaml:4: facilities.a.gpu_mtbf: must be above 0 (leave it out for GPUs that never fail)",
			"s.yaml:5: facilities.b: gpu_mttr without gpu_mtbf: GPUs fail only with a gpu_mtbf, e.g. {gpu_mtbf: 730d, gpu_mttr: 24h}",
			`s.yaml:6: facilities.c.gpu_mtbf: 1.5 is not a whole number; use whole seconds or a duration such as "90m", "4h" or "2d", from 0 to 100 years (36500d)`,
			`s.yaml:7: facilities.d.gpu_mtbf: must be from 0 to 100 years (36500d); got "36501d"`,
			`s.yaml:8: facilities.e.gpu_mttr: must be from 0 to 1 year (365d); got "366d"`}},
		{"power caps", "facility: f\nworkload: {file: j}\nfacilities:\n  a: {power_caps_kw: {}}\n  b:\n    power_caps_kw: {par1/h1: -3, par1: .inf}\n", []string{
			"s.yaml:4: facilities.a.power_caps_kw: must be a mapping of site, hall or rack IDs to kW",
			"s.yaml:6: facilities.b.power_caps_kw.par1/h1: must be above 0 and at most 1e+07 (got -3)",
			"s.yaml:6: facilities.b.power_caps_kw.par1:"}},
		{"facilities", "facility: f\nworkload: {file: j}\nfacilities:\n  big: {gpu_scale: -1, envelope: 3}\n", []string{
			"s.yaml:4: facilities.big.gpu_scale: must be above 0 and at most 16 (got -1)",
			`s.yaml:4: facilities.big.envelope: unknown field; a facility variant has gpu_scale, envelope_fraction`}},
		{"grids", "facility: f\nworkload: {file: j}\ngrids:\n  FR: {file: x.csv}\n", []string{"s.yaml:4: grids.FR: missing zone:"}},
		{"grids twice", "facility: f\nworkload: {file: j}\ngrids:\n  FR-2023: {zone: FR}\n  DE: {zone: DE}\n  France: {zone: FR}\n  a: {zone: DE, file: de.csv}\n  b: {zone: DE, file: ./de.csv}\n  c: {zone: DE, file: de-2022.csv}\n", []string{
			"s.yaml:6: grids.France: zone FR from --grid or carnot's built-in series, as grids.FR-2023 (line 4): the two would run the same scenarios; drop one, or give each its own file:",
			"s.yaml:8: grids.b: zone DE from de.csv, as grids.a (line 7): the two would run the same scenarios"}},
		{"explicit", "facility: f\nworkload: {file: j}\npolicies: {a: {}, b: {}}\nscenarios:\n  - {policy: c}\n  - {grid: own-zones}\n  - {policy: a}\n  - {policy: a}\n", []string{
			`s.yaml:5: scenarios[0].policy: no variant named "c"; the set has a, b`,
			"s.yaml:6: scenarios[1]: missing policy: the set has 2 policy variants; name one",
			// the message ended "give one a name:" with nothing after it
			`s.yaml:8: scenarios: scenario name "a" is used twice (first on line 7); give one its own name: {name: ..., policy: ...}`}},
		{"case cross", "facility: f\nworkload: {file: j}\npolicies: {Fast: {}, fast: {}}\n", []string{
			`s.yaml: scenarios: scenario names "Fast" and "fast" differ only in case`}},
		{"case explicit", "facility: f\nworkload: {file: j}\npolicies: {a: {}, b: {}}\nscenarios:\n  - {policy: a, name: Run}\n  - {policy: b, name: run}\n", []string{
			`s.yaml:6: scenarios: scenario names "Run" and "run" differ only in case`}},
		{"plan output cross", "facility: f\nworkload: {file: j}\npolicies:\n  a: {}\n  plan.json: {}\n", []string{
			`s.yaml:5: policies.plan.json: scenario name "plan.json" is the name of a file carnot plan writes beside the scenarios' directories (plan.json, plan.html); rename the variant`}},
		{"plan output explicit", "facility: f\nworkload: {file: j}\npolicies: {a: {}, b: {}}\nscenarios:\n  - {policy: a}\n  - {policy: b, name: Plan.HTML}\n", []string{
			`s.yaml:6: scenarios: scenario name "Plan.HTML" is the name of a file carnot plan writes beside the scenarios' directories (plan.json, plan.html); rename it`}},
		{"baseline", "facility: f\nworkload: {file: j}\nbaseline: nobody\n", []string{`s.yaml:3: baseline: no scenario is named "nobody"; the scenarios are facility-policy`}},
		{"baseline of a bad scenario", "facility: f\nworkload: {file: j}\npolicies: {a: {}, b: {}}\nscenarios:\n  - {name: ref}\nbaseline: ref\n", []string{
			"s.yaml:5: scenarios[0]: missing policy: the set has 2 policy variants; name one"}},
		{"two docs", "facility: f\n---\nfacility: g\n", []string{"s.yaml:3: a scenario set holds one YAML document"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("s.yaml", []byte(tc.in))
			var list yamlin.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error %v (%T) is not a yamlin.ErrorList", err, err)
			}
			if len(list) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(list), len(tc.want), err)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(list[i].Error(), w) {
					t.Errorf("problem %d:\n got %s\nwant %s…", i, list[i].Error(), w)
				}
			}
		})
	}
}

// TestLoadHostile feeds inputs that must give errors, never panics.
func TestLoadHostile(t *testing.T) {
	for _, in := range []string{"- 1\n- 2", "a: &x [*x]", "facility: {a: b}", "workload: 3", "policies: [a]",
		"scenarios: {}", "grids: {FR: 3}", "facilities: {a: [1]}", strings.Repeat("[", 100), "\xff\xfe",
		"workload: {generate: {jobs: 99999999999999999999999}}", "policies: {a: {carbon_weight: .nan}}"} {
		if _, err := Load("h.yaml", []byte(in)); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

// TestYAMLDirective: a set that starts with "%YAML 1.2" and "---" holds
// one document; the directive was taken for a first document and the
// set refused ("a scenario set holds one YAML document").
func TestYAMLDirective(t *testing.T) {
	if _, err := Load("testdata/small.yaml", []byte("%YAML 1.2\n---\n"+smallSet)); err != nil {
		t.Error(err)
	}
}
