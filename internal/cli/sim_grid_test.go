package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// simTotal reads the total energy, cost and carbon of a summary.json.
func simTotal(t *testing.T, path string) (total struct {
	Facility float64 `json:"facility_mwh"`
	Unpriced float64 `json:"unpriced_mwh"`
	Cost     float64 `json:"cost_eur"`
	Carbon   float64 `json:"carbon_tco2e"`
}) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var sum struct{ Total json.RawMessage }
	if err := json.Unmarshal(data, &sum); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(sum.Total, &total); err != nil {
		t.Fatal(err)
	}
	return total
}

// TestSimPricesLikePlan: carnot sim priced a facility in FR at 0 EUR
// ("no grid series covers site par1") where carnot plan, on the same
// facility and workload, used the FR 2023 series built into carnot. A
// site whose zone has a built-in series gets it in both.
func TestSimPricesLikePlan(t *testing.T) {
	dir := t.TempDir()
	work := filepath.Join(dir, "one.jsonl")
	if err := os.WriteFile(work, []byte(`{"id":"a","tenant":"lab-a","gpus":8,"runtime_limit":"10h","submit_time":"2023-03-01T00:00:00Z"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fac, _ := filepath.Abs(smallFacility)
	set := filepath.Join(dir, "set.yaml")
	if err := os.WriteFile(set, []byte("name: one\nfacility: "+fac+"\nworkload: {file: "+work+"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if text, err := runCLI(t, "plan", set, "--out", filepath.Join(dir, "plan"), "--parallel", "1"); err != nil {
		t.Fatalf("plan: %v\n%s", err, text)
	}
	text, err := runCLI(t, "sim", "--facility", smallFacility, "--workload", work, "--out", filepath.Join(dir, "sim"))
	if err != nil {
		t.Fatalf("sim: %v\n%s", err, text)
	}
	if strings.Contains(text, "no grid series") {
		t.Errorf("sim says no series covers the run:\n%s", text)
	}
	got := simTotal(t, filepath.Join(dir, "sim", "summary.json"))
	want := simTotal(t, filepath.Join(dir, "plan", "facility-policy", "summary.json"))
	if !(want.Cost > 0 && want.Carbon > 0) || got != want {
		t.Errorf("sim total %+v, plan total %+v: want the same, priced", got, want)
	}
}

// TestSimZoneWithoutSeries: a site whose zone has no built-in series
// and no --grid is priced at nothing, and the run says so, naming the
// zone and the flag that would price it.
func TestSimZoneWithoutSeries(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(smallFacility)
	if err != nil {
		t.Fatal(err)
	}
	fac := filepath.Join(dir, "pl.yaml")
	if err := os.WriteFile(fac, []byte(strings.Replace(string(data), "grid_zone: FR", "grid_zone: PL", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(dir, "one.jsonl")
	if err := os.WriteFile(work, []byte(`{"id":"a","tenant":"lab-a","gpus":8,"runtime_limit":"10h","submit_time":"2023-03-01T00:00:00Z"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	text, err := runCLI(t, "sim", "--facility", fac, "--workload", work, "--out", filepath.Join(dir, "out"))
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if want := "note: no grid series covers site par1 during the run: zone PL has no built-in series, so its cost and carbon are 0 (--grid PL=CSV)"; !strings.Contains(text, want) {
		t.Errorf("output lacks %q:\n%s", want, text)
	}
	if tot := simTotal(t, filepath.Join(dir, "out", "summary.json")); tot.Cost != 0 || tot.Unpriced != tot.Facility {
		t.Errorf("total %+v: want all of it unpriced", tot)
	}
}
