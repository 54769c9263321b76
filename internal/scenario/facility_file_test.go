package scenario

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/bundled"
	"github.com/carnot-dc/carnot/internal/model"
)

// twoHalls is lab4 grown to two halls of four nodes, the second in
// Germany's zone when zone is DE.
func twoHalls(zone string) string {
	return `name: lab8
sites:
  - id: par1
    country: FR
    operator: Example Compute SAS
    power_envelope_kw: 60.8
    pue: 1.2
    grid_zone: ` + zone + `
    halls:
      - id: h1
        racks:
          - id: r1
            nodes:
              - {names: "a-[1-4]", gpu_model: H100, gpus: 8, cpus: 112, memory_gib: 2048, base_watts: 2000}
      - id: h2
        racks:
          - id: r2
            nodes:
              - {names: "b-[1-4]", gpu_model: H100, gpus: 8, cpus: 112, memory_gib: 2048, base_watts: 2000}
cohorts:
  - name: research
tenants:
  - {name: lab-a, cohort: research, fair_share_weight: 2, quota: {H100: {nominal: 32}}}
  - {name: lab-b, cohort: research, fair_share_weight: 1, quota: {H100: {nominal: 16}}}
  - {name: lab-c, cohort: research, fair_share_weight: 1, quota: {H100: {nominal: 16}}}
`
}

// planDir writes the files of a scenario set into a temporary folder and
// returns the set's path.
func planDir(t *testing.T, set string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	lab4, err := os.ReadFile("testdata/lab4.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files["lab4.yaml"] = string(lab4)
	files["set.yaml"] = set
	for name, text := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "set.yaml")
}

// A facility variant may name another facility file (relative to the
// set), which it starts from instead of the base facility; its other
// changes apply to that facility.
func TestFacilityVariantFromFile(t *testing.T) {
	path := planDir(t, `facility: lab4.yaml
workload:
  generate: {jobs: 40, seed: 2, start: 2023-05-01T00:00:00Z, load: 0.5}
facilities:
  base: {}
  lab8: {facility: more/lab8.yaml}
  lab8-h2: {facility: more/lab8.yaml, power_caps_kw: {par1/h2: 20}}
`, map[string]string{"more/lab8.yaml": twoHalls("FR")})
	s, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cases, err := Prepare(s, Options{Grid: bundled.Grid})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(cases[0].Config.Facility.Nodes); n != 4 {
		t.Errorf("base: %d nodes, want lab4's 4", n)
	}
	if f := cases[1].Config.Facility; len(f.Nodes) != 8 || len(f.Halls) != 2 || f.Halls[1].PowerCapKW != 0 {
		t.Errorf("lab8: %d nodes, halls %+v; want lab8.yaml's 8 nodes in two uncapped halls", len(f.Nodes), f.Halls)
	}
	if f := cases[2].Config.Facility; len(f.Nodes) != 8 || f.Halls[1].ID != "par1/h2" || f.Halls[1].PowerCapKW != 20 {
		t.Errorf("lab8-h2: %d nodes, halls %+v; want lab8.yaml's with par1/h2 capped at 20 kW", len(f.Nodes), f.Halls)
	}
	out, err := Run(context.Background(), cases, RunOptions{Parallel: 2})
	if err != nil {
		t.Fatal(err)
	}
	p := NewPlan(s, out)
	if got := p.Facilities[2].Changes; got != "facility=more/lab8.yaml par1/h2=20kW" {
		t.Errorf("lab8-h2 changes %q", got)
	}
	if h := p.Scenarios[2].Halls; len(h) != 2 || h[1].CapKW != 20 || h[1].MaxITkW > 20 {
		t.Errorf("lab8-h2 halls %+v", h)
	}
}

// A variant's facility file that is missing, has problems, or lacks a
// tenant, class or GPU model the workload's jobs need is an error at the
// variant's line, naming the file.
func TestFacilityVariantFileErrors(t *testing.T) {
	noTenant := strings.Replace(twoHalls("FR"), "  - {name: lab-c, cohort: research, fair_share_weight: 1, quota: {H100: {nominal: 16}}}\n", "", 1)
	noH100 := strings.ReplaceAll(twoHalls("FR"), "H100", "B200")
	path := planDir(t, `facility: lab4.yaml
workload:
  generate: {jobs: 40, seed: 2, start: 2023-05-01T00:00:00Z}
facilities:
  base: {}
  gone: {facility: nowhere.yaml}
  typo:
    gpu_scale: 2
    facility: typo.yaml
  fewer: {facility: fewer.yaml}
  b200: {facility: b200.yaml}
`, map[string]string{"typo.yaml": strings.Replace(twoHalls("FR"), "pue:", "peu:", 1), "fewer.yaml": noTenant, "b200.yaml": noH100})
	s, err := LoadFile(path)
	if err == nil {
		_, err = Prepare(s, Options{Grid: bundled.Grid})
	}
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{
		"set.yaml:6: facilities.gone.facility: cannot read ",
		"set.yaml:9: facilities.typo.facility: ",
		`typo.yaml:7: sites[0].peu: unknown field`,
		"set.yaml:10: facilities.fewer.facility: ",
		"has no tenant lab-c",
		"set.yaml:11: facilities.b200.facility: ",
		"no GPU model H100",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error lacks %q:\n%s", want, msg)
		}
	}
	_, err = Load("set.yaml", []byte("facility: lab4.yaml\nworkload: {generate: {jobs: 1, start: 2023-05-01T00:00:00Z}}\nfacilities:\n  empty: {facility: \"\"}\n"))
	if err == nil || !strings.Contains(err.Error(), "set.yaml:4: facilities.empty.facility: must be a non-empty string") {
		t.Errorf("an empty facility: %v", err)
	}
}

// Under own-zones (no grids:), a variant's facility in another zone is
// priced with that zone's series, as the base's sites are with theirs.
func TestFacilityVariantFileOwnZone(t *testing.T) {
	path := planDir(t, `facility: lab4.yaml
workload:
  generate: {jobs: 10, seed: 2, start: 2023-05-01T00:00:00Z}
facilities:
  fr: {}
  de: {facility: de.yaml}
`, map[string]string{"de.yaml": twoHalls("DE")})
	s, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	asked := map[string]bool{}
	cases, err := Prepare(s, Options{Grid: func(z string) (gs model.GridSeries, err error) { asked[z] = true; return bundled.Grid(z) }})
	if err != nil {
		t.Fatal(err)
	}
	zones := func(c Case) (out []string) {
		for _, gs := range c.Config.Grid {
			out = append(out, gs.Zone)
		}
		return out
	}
	if got := strings.Join(zones(cases[1]), ","); !strings.Contains(got, "DE") {
		t.Errorf("the DE facility's series: %q, want DE's", got)
	}
	if !asked["DE"] || !asked["FR"] {
		t.Errorf("zones asked for: %v, want FR and DE", asked)
	}
}

// A job takes its class's preemptibility from the facility it runs on:
// a variant's facility file that makes class high preemptible ran the
// jobs as the base facility's classes had them (not preemptible), so the
// scenario came out the same as the base's, without a word. A job whose
// file says preemptible itself keeps its word.
func TestFacilityVariantFileClasses(t *testing.T) {
	classes := `priority_classes:
  - {name: critical, value: 1000}
  - {name: high, value: 100}
  - {name: normal, value: 0}
  - {name: low, value: -100}
`
	path := planDir(t, `facility: lab4.yaml
workload:
  generate: {jobs: 40, seed: 2, start: 2023-05-01T00:00:00Z}
  file: jobs.yaml
facilities:
  base: {}
  preemptible: {facility: pre.yaml}
`, map[string]string{
		"pre.yaml": strings.Replace(twoHalls("FR"), "cohorts:", classes+"cohorts:", 1),
		"jobs.yaml": `jobs:
  - {id: own, tenant: lab-a, priority_class: high, preemptible: false, gpus: 1, runtime_limit: 1h, submit_time: "2023-05-01T00:00:00Z"}
  - {id: by-class, tenant: lab-a, priority_class: high, gpus: 1, runtime_limit: 1h, submit_time: "2023-05-01T00:00:00Z"}
`})
	s, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cases, err := Prepare(s, Options{Grid: bundled.Grid})
	if err != nil {
		t.Fatal(err)
	}
	count := func(c Case) (high, pre int, own, byClass bool) {
		for _, j := range c.Config.Jobs {
			switch {
			case j.ID == "own":
				own = j.Preemptible
			case j.ID == "by-class":
				byClass = j.Preemptible
			case j.PriorityClass == "high":
				high++
				if j.Preemptible {
					pre++
				}
			}
		}
		return
	}
	if high, pre, own, byClass := count(cases[0]); high == 0 || pre != 0 || own || byClass {
		t.Errorf("base: %d of %d generated high jobs preemptible, own %v, by-class %v; want none", pre, high, own, byClass)
	}
	if high, pre, own, byClass := count(cases[1]); pre != high || own || !byClass {
		t.Errorf("pre.yaml: %d of %d generated high jobs preemptible, own %v, by-class %v; want all but own", pre, high, own, byClass)
	}
}

// A variant's facility file that does not define a data class the
// workload's jobs name is a misfit, also when it defines none: the core
// would read the class as a label there and run the jobs on any site,
// where the live server refuses them (the class says where their data
// may live). A variant file that defines it is fine.
func TestFacilityVariantFileLacksDataClass(t *testing.T) {
	lab4, err := os.ReadFile("testdata/lab4.yaml")
	if err != nil {
		t.Fatal(err)
	}
	classes := "data_classes:\n  - {name: personal, jurisdictions: [FR]}\n"
	path := planDir(t, `facility: classes.yaml
workload:
  file: jobs.yaml
facilities:
  base: {}
  none: {facility: none.yaml}
  kept: {facility: kept.yaml}
`, map[string]string{
		"classes.yaml": string(lab4) + classes,
		"none.yaml":    twoHalls("FR"),
		"kept.yaml":    twoHalls("FR") + classes,
		"jobs.yaml": "- {id: a, tenant: lab-a, gpus: 1, runtime_limit: 1h, submit_time: 2023-05-01T00:00:00Z}\n" +
			"- {id: b, tenant: lab-a, gpus: 1, runtime_limit: 1h, data_class: personal, submit_time: 2023-05-01T00:00:00Z}\n",
	})
	s, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Prepare(s, Options{Grid: bundled.Grid})
	want := "set.yaml:6: facilities.none.facility: none.yaml has no data class personal (1 job of the workload)"
	if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "facilities.kept") {
		t.Errorf("Prepare: %v; want only %s…", err, want)
	}
}
