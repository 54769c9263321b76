package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSimFailureLeavesNoOutputs: a failed run into DIR left an earlier
// run's summary.json, jobs.csv and report.html there (the old files were
// removed only once the inputs had loaded), so they read as this run's.
// Whatever fails once DIR is named, a flag, an input or the run, DIR
// holds none of carnot sim's outputs afterwards; other files stay.
func TestSimFailureLeavesNoOutputs(t *testing.T) {
	dir := t.TempDir()
	work := filepath.Join("..", "..", "examples", "jobs-small-generated.jsonl")
	de := filepath.Join(dir, "de.csv")
	if err := os.WriteFile(de, []byte("datetime_utc,ci_direct_gco2_per_kwh,price_eur_per_mwh\n2026-01-01T00:00:00Z,300,80\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte(`{"id":"a","tenant":"nobody","gpus":1,"runtime_limit":"1h","submit_time":"2026-01-05T08:00:00Z"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"grid zone no site uses", []string{"--facility", smallFacility, "--workload", work, "--grid", "DE=" + de}},
		{"grid file missing", []string{"--grid", "FR=" + filepath.Join(dir, "none.csv")}},
		{"policy", []string{"--facility", smallFacility, "--workload", work, "--policy", "order=lifo"}},
		{"flag without its flag", []string{"--facility", smallFacility, "--workload", work, "--scale", "0.5"}},
		{"model flag", []string{"--facility", smallFacility, "--workload", work, "--checkpoint", "0"}},
		{"workload", []string{"--facility", smallFacility, "--workload", bad}},
		{"half-given inputs", []string{"--facility", smallFacility}},
	} {
		out := filepath.Join(dir, "out")
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range append(simOutputs, "notes.txt") {
			if err := os.WriteFile(filepath.Join(out, f), []byte("earlier\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var outb, errb bytes.Buffer
		if code := Main(append([]string{"sim", "--out", out}, tc.args...), &outb, &errb); code == 0 {
			t.Fatalf("%s: exit 0, want a failure", tc.name)
		}
		for _, f := range simOutputs {
			if _, err := os.Stat(filepath.Join(out, f)); err == nil {
				t.Errorf("%s (%s): the earlier run's %s is still in DIR", tc.name, strings.TrimSpace(errb.String()), f)
			}
		}
		if _, err := os.Stat(filepath.Join(out, "notes.txt")); err != nil {
			t.Errorf("%s: a file of the user's was removed: %v", tc.name, err)
		}
	}
}

// TestOwnOutputs: a run that fails after writing some of its files
// (summary.json written, then jobs.csv not) leaves none of them.
func TestOwnOutputs(t *testing.T) {
	dir := t.TempDir()
	names := []string{"summary.json", "jobs.csv"}
	boom := errors.New("boom")
	err := ownOutputs(dir, names, func() error {
		if err := os.WriteFile(filepath.Join(dir, "summary.json"), []byte("{}"), 0o644); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("ownOutputs = %v, want the run's error", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "summary.json")); err == nil {
		t.Error("the failed run's summary.json is still there")
	}
	// a run that succeeds keeps what it wrote
	if err := ownOutputs(dir, names, func() error { return os.WriteFile(filepath.Join(dir, "jobs.csv"), nil, 0o644) }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "jobs.csv")); err != nil {
		t.Error(err)
	}
}
