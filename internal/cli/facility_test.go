package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/workload"
)

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := NewRoot()
	var out bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&out)
	err := root.Execute()
	return out.String(), err
}

func TestFacilityValidate(t *testing.T) {
	small := filepath.Join("..", "..", "examples", "small.yaml")
	paris := filepath.Join("..", "..", "examples", "paris.yaml")
	out, err := runCLI(t, "facility", "validate", small, paris)
	if err != nil {
		t.Fatalf("validate: %v\n%s", err, out)
	}
	want := small + ": ok (1 sites, 4 nodes, 32 GPUs, 3 tenants)\n" +
		paris + ": ok (3 sites, 3680 nodes, 14592 GPUs, 5 tenants)\n"
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}

	broken := filepath.Join(t.TempDir(), "broken.yaml")
	data, err := os.ReadFile(small)
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Replace(data, []byte("country: FR"), []byte("country: FX"), 1)
	data = bytes.Replace(data, []byte("pue: 1.35"), []byte("pue: 0.8"), 1)
	if err := os.WriteFile(broken, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, "facility", "validate", small, broken)
	if err == nil {
		t.Fatal("validate of a broken file succeeded")
	}
	want = small + ": ok (1 sites, 4 nodes, 32 GPUs, 3 tenants)\n" +
		broken + `:8: sites[0].country: "FX" is not an ISO 3166-1 alpha-2 country code; use e.g. FR, DE, US` + "\n" +
		broken + ":12: sites[0].pue: 0.8 is below 1; facility power cannot be less than IT power (typical values 1.1-1.6)\n"
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

func TestFacilityShow(t *testing.T) {
	for _, name := range []string{"small.yaml", "paris.yaml"} {
		path := filepath.Join("..", "..", "examples", name)
		out, err := runCLI(t, "facility", "show", path)
		if err != nil {
			t.Fatalf("show %s: %v", name, err)
		}
		for _, s := range []string{"SITE", "GPU MODEL", "TENANT", "PRIORITY CLASS", "POLICY", "H100",
			"largest victim 8× its need", "spares work younger than 30m0s", "running work found outside: flag"} {
			if !strings.Contains(out, s) {
				t.Errorf("show %s: output lacks %q:\n%s", name, s, out)
			}
		}
		j1, err := runCLI(t, "facility", "show", "-o", "json", path)
		if err != nil {
			t.Fatal(err)
		}
		j2, _ := runCLI(t, "facility", "show", "-o", "json", path)
		if j1 != j2 {
			t.Errorf("show -o json %s is not deterministic", name)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(j1), &v); err != nil {
			t.Errorf("show -o json %s: %v", name, err)
		}
	}
	out, _ := runCLI(t, "facility", "show", filepath.Join("..", "..", "examples", "paris.yaml"))
	if !strings.Contains(out, "21800 (87% of nameplate)") || !strings.Contains(out, "13824 GB300") {
		t.Errorf("paris summary lacks envelope or GPU count:\n%s", out)
	}
	if _, err := runCLI(t, "facility", "show", "-o", "xml", filepath.Join("..", "..", "examples", "small.yaml")); err == nil {
		t.Error("show -o xml succeeded")
	}
}

// TestFacilityGenerate writes the default benchmark facility (10,000
// nodes), loads it back, validates it, generates a workload for it and
// schedules that workload.
func TestFacilityGenerate(t *testing.T) {
	dir := t.TempDir()
	bench := filepath.Join(dir, "bench.yaml")
	if out, err := runCLI(t, "facility", "generate", "--bench", "-o", bench); err != nil {
		t.Fatalf("generate: %v\n%s", err, out)
	}
	start := time.Now()
	f, err := facility.LoadFile(bench)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	t.Logf("facility.LoadFile of the 10,000-node benchmark facility: %v", time.Since(start))
	gen := workload.GenerateFacility(workload.DefaultFacilityConfig())
	if len(f.Nodes) != len(gen.Nodes) || len(f.Racks) != len(gen.Racks) || len(f.Tenants) != len(gen.Tenants) {
		t.Errorf("loaded %d nodes, %d racks, %d tenants; generated %d, %d, %d",
			len(f.Nodes), len(f.Racks), len(f.Tenants), len(gen.Nodes), len(gen.Racks), len(gen.Tenants))
	}
	out, err := runCLI(t, "facility", "validate", bench)
	if want := bench + ": ok (4 sites, 10000 nodes, 80000 GPUs, 200 tenants)\n"; err != nil || out != want {
		t.Errorf("validate: %v\n%s", err, out)
	}
	jobs := filepath.Join(dir, "jobs.jsonl")
	if out, err := runCLI(t, "workload", "generate", "--facility", bench, "--jobs", "200", "-o", jobs); err != nil {
		t.Fatalf("workload generate: %v\n%s", err, out)
	}
	out, err = runCLI(t, "schedule", "--facility", bench, "--workload", jobs)
	if err != nil || !strings.Contains(out, "summary: ") {
		t.Errorf("schedule: %v\n%s", err, out)
	}
}

func TestFacilityGenerateFlags(t *testing.T) {
	args := []string{"facility", "generate", "--bench", "--nodes", "2100", "--sites", "2", "--tenants", "30", "--seed", "3"}
	a, err := runCLI(t, args...)
	if err != nil {
		t.Fatalf("generate: %v\n%s", err, a)
	}
	b, _ := runCLI(t, args...)
	if a != b {
		t.Error("generate is not deterministic")
	}
	f, err := facility.Load("stdout", []byte(a))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Sites) != 2 || len(f.Nodes) != 2100 || len(f.Tenants) != 30 {
		t.Errorf("got %d sites, %d nodes, %d tenants; want 2, 2100, 30", len(f.Sites), len(f.Nodes), len(f.Tenants))
	}
	if out, err := runCLI(t, "facility", "generate"); err == nil || !strings.Contains(err.Error(), "--bench") {
		t.Errorf("generate without --bench: %v\n%s", err, out)
	}
}

// A facility whose reclaim takes victims of any size says so in show's
// table and JSON.
func TestFacilityShowReclaimVictims(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("..", "..", "examples", "small.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "any.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(string(text), "policy:\n", "policy:\n  reclaim_victims: any\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "facility", "show", path)
	if err != nil || !strings.Contains(out, "reclaim        on (takes back lent quota from borrowers of any size; spares work younger than 30m0s)") {
		t.Errorf("show: %v; want reclaim's victims of any size in\n%s", err, out)
	}
	out, err = runCLI(t, "facility", "show", "-o", "json", path)
	if err != nil || !strings.Contains(out, `"reclaim_victims": "any"`) {
		t.Errorf("show -o json: %v; want reclaim_victims any in\n%s", err, out)
	}
}

// Which jobs may borrow beyond their tenant's nominal quota is shown in
// show's table, as in its JSON: borrowing: preemptible leaves a job that
// is not preemptible waiting for its own tenant's quota.
func TestFacilityShowBorrowing(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("..", "..", "examples", "small.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "facility", "show", filepath.Join("..", "..", "examples", "small.yaml"))
	if err != nil || !strings.Contains(out, "quotas         on (any job may borrow beyond its tenant's nominal quota)") {
		t.Errorf("show: %v; want borrowing by any job in\n%s", err, out)
	}
	path := filepath.Join(t.TempDir(), "borrow.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(string(text), "policy:\n", "policy:\n  borrowing: preemptible\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, "facility", "show", path)
	if err != nil || !strings.Contains(out, "quotas         on (only preemptible jobs borrow beyond their tenant's nominal quota)") {
		t.Errorf("show: %v; want borrowing by preemptible jobs only in\n%s", err, out)
	}
}
