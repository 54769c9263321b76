package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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
		for _, s := range []string{"SITE", "GPU MODEL", "TENANT", "PRIORITY CLASS", "POLICY", "H100"} {
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
