package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// writeSet writes a small scenario set with the given policy variants.
func writeSet(t *testing.T, path string, policies ...string) {
	t.Helper()
	lab, _ := filepath.Abs(filepath.Join("..", "..", "examples", "plan", "lab.yaml"))
	text := "name: stale\nfacility: " + lab + "\nworkload:\n" +
		"  batch: {jobs: 4, start: 2023-04-01T00:00:00Z, every: 1h, runtime: 2h, gpus: 8, tenants: [lab-a]}\npolicies:\n"
	for _, p := range policies {
		text += "  " + p + ": {}\n"
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPlanRemovesStaleScenarios: carnot plan run twice into one DIR left
// the folders of scenarios the second set no longer has (DIR/b/summary.json
// beside a plan.json without b). A run removes the outputs of every
// scenario the earlier plan.json lists, and of its own before they run,
// and the folders left empty; files and folders of the user's stay.
func TestPlanRemovesStaleScenarios(t *testing.T) {
	dir := t.TempDir()
	set, out := filepath.Join(dir, "set.yaml"), filepath.Join(dir, "out")
	writeSet(t, set, "a", "b", "c")
	if text, err := runCLI(t, "plan", set, "--out", out, "--parallel", "1"); err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	for _, f := range []string{"a/summary.json", "b/jobs.csv", "c/summary.json"} {
		if !fileExists(filepath.Join(out, f)) {
			t.Fatalf("first run wrote no %s", f)
		}
	}
	// the user's: a note in b, a folder of summaries no plan.json names
	for _, f := range []string{"b/notes.txt", "mine/summary.json"} {
		os.MkdirAll(filepath.Dir(filepath.Join(out, f)), 0o755)
		if err := os.WriteFile(filepath.Join(out, f), []byte("mine\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeSet(t, set, "a")
	if text, err := runCLI(t, "plan", set, "--out", out, "--parallel", "1"); err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	for _, f := range []string{"b/summary.json", "b/jobs.csv", "c"} {
		if fileExists(filepath.Join(out, f)) {
			t.Errorf("%s of a scenario the set no longer has is still in DIR", f)
		}
	}
	for _, f := range []string{"a/summary.json", "a/jobs.csv", "b/notes.txt", "mine/summary.json"} {
		if !fileExists(filepath.Join(out, f)) {
			t.Errorf("%s is gone", f)
		}
	}
	data, err := os.ReadFile(filepath.Join(out, "plan.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ Scenarios []struct{ Name string } }
	if err := json.Unmarshal(data, &p); err != nil || len(p.Scenarios) != 1 || p.Scenarios[0].Name != "a" {
		t.Fatalf("plan.json scenarios %+v, %v", p.Scenarios, err)
	}

	// a run interrupted before a scenario ran (Ctrl-C) leaves none of
	// that scenario's earlier files beside the plan.json that says so
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	root := NewRoot()
	var buf bytes.Buffer
	root.SetArgs([]string{"plan", set, "--out", out, "--parallel", "1"})
	root.SetOut(&buf)
	root.SetErr(&buf)
	if err := root.ExecuteContext(ctx); err == nil {
		t.Fatalf("a cancelled plan succeeded:\n%s", buf.String())
	}
	if fileExists(filepath.Join(out, "a", "summary.json")) {
		t.Errorf("scenario a did not run, yet its earlier summary.json is in DIR:\n%s", buf.String())
	}
	entries, _ := os.ReadDir(out)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"b", "mine", "plan.html", "plan.json"}; !slices.Equal(names, want) {
		t.Errorf("DIR holds %q, want %q", names, want)
	}
}
