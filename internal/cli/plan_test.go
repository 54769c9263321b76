package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlanExamplesCheck builds every scenario of every example set
// without running them (the grids come from the series built into
// carnot, so this needs no data files).
func TestPlanExamplesCheck(t *testing.T) {
	sets, _ := filepath.Glob(filepath.Join("..", "..", "examples", "plan", "*.yaml"))
	n := 0
	for _, f := range sets {
		if filepath.Base(f) == "lab.yaml" { // the facility the sets share
			continue
		}
		n++
		out, err := runCLI(t, "plan", f, "--check")
		if err != nil || !strings.Contains(out, ": ok (") {
			t.Errorf("%s: %v\n%s", f, err, out)
		}
	}
	if n < 4 {
		t.Errorf("found %d example sets, want at least policies, capacity, grids and energy", n)
	}
}

func TestPlanRun(t *testing.T) {
	dir := t.TempDir()
	lab, _ := filepath.Abs(filepath.Join("..", "..", "examples", "plan", "lab.yaml"))
	set := filepath.Join(dir, "set.yaml")
	if err := os.WriteFile(set, []byte(`name: tiny
facility: `+lab+`
workload:
  batch: {jobs: 60, start: 2023-04-01T00:00:00Z, every: 1h, runtime: 4h, slack: 12h, gpus: 8, tenants: [lab-a, lab-b]}
policies:
  at-arrival: {deferral: false}
  deferral: {}
grids:
  FR: {zone: FR}
  DE: {zone: DE}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	var plans [2][]byte
	for i, par := range []string{"1", "2"} {
		out := filepath.Join(dir, "out"+par)
		text, err := runCLI(t, "plan", set, "--out", out, "--parallel", par)
		if err != nil {
			t.Fatalf("%v\n%s", err, text)
		}
		if !strings.Contains(text, "deferral+DE") || !strings.Contains(text, "wrote ") {
			t.Errorf("output:\n%s", text)
		}
		for _, f := range []string{"plan.html", "at-arrival+FR/summary.json", "deferral+DE/jobs.csv"} {
			if _, err := os.Stat(filepath.Join(out, f)); err != nil {
				t.Error(err)
			}
		}
		plans[i], err = os.ReadFile(filepath.Join(out, "plan.json"))
		if err != nil {
			t.Fatal(err)
		}
	}
	if string(plans[0]) != string(plans[1]) {
		t.Error("plan.json differs between --parallel 1 and 2")
	}
	var p struct {
		Scenarios []struct {
			Name    string
			Metrics map[string]float64
		}
	}
	if err := json.Unmarshal(plans[0], &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Scenarios) != 4 || p.Scenarios[3].Name != "deferral+DE" || p.Scenarios[0].Metrics["finished"] != 60 {
		t.Errorf("plan.json: %+v", p)
	}
}

func TestPlanErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("facility: nowhere.yaml\nworkload: {file: none.jsonl}\npolicies: {a: {backfil: true}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "set.yaml")
	if err := os.WriteFile(missing, []byte("facility: nowhere.yaml\nworkload: {file: none.jsonl}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"plan"}, ExitUsage, "accepts 1 arg"},
		{[]string{"plan", bad, "--parallel", "0"}, ExitUsage, "--parallel 0"},
		{[]string{"plan", bad, "--grid", "FR"}, ExitUsage, "want ZONE=FILE"},
		{[]string{"plan", filepath.Join(dir, "none.yaml")}, ExitFailure, "no such file"},
		{[]string{"plan", bad, "--check"}, ExitFailure, `bad.yaml:3: policies.a.backfil: unknown field`},
		{[]string{"plan", missing, "--check"}, ExitFailure, "set.yaml:1: facility: cannot read"},
	} {
		var outb, errb strings.Builder
		code := Main(tc.args, &outb, &errb)
		if code != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("carnot %v: exit %d, stderr %q; want exit %d and %q", tc.args, code, errb.String(), tc.code, tc.want)
		}
	}
}

// TestPlanGridZoneUnused: a --grid series for a zone the set does not
// take from --grid (policies.yaml prices every site in FR from the
// built-in series) was dropped without a word. It is a usage error.
func TestPlanGridZoneUnused(t *testing.T) {
	csv := filepath.Join(t.TempDir(), "de.csv")
	rows := "datetime_utc,ci_direct_gco2_per_kwh,ci_lca_gco2_per_kwh,low_carbon_pct,renewable_pct,ci_estimated,price_eur_per_mwh,price_flag\n" +
		"2023-03-01T00:00:00Z,300,400,50,40,0,80,\n"
	if err := os.WriteFile(csv, []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	set := filepath.Join("..", "..", "examples", "plan", "policies.yaml")
	args := []string{"plan", set, "--check", "--grid", "DE=" + csv}
	var outb, errb strings.Builder
	want := "--grid DE=" + csv + ": the set takes no series of zone DE from --grid (it takes zones: FR)"
	if code := Main(args, &outb, &errb); code != ExitUsage || !strings.Contains(errb.String(), want) {
		t.Errorf("carnot %v: exit %d, stderr %q; want exit %d and %q", args, code, errb.String(), ExitUsage, want)
	}
}
