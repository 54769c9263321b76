package cli

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPoolsBorrowerHoldsLentQuota keeps docs/plan.md's known problem
// "Small jobs that wait for days" true: a non-preemptible borrower holds
// the quota it borrowed for its whole run, so the lender's job within
// its nominal quota waits 167 h; the same borrower preemptible is
// reclaimed at once once victim_ratio allows it, or once the policy's
// reclaim_victims: any frees reclaim from it. Should the core change
// either, update the finding with the new figures.
func TestPoolsBorrowerHoldsLentQuota(t *testing.T) {
	fac := filepath.Join("..", "..", "examples", "pools.yaml")
	jobs := filepath.Join("..", "..", "examples", "jobs-pools-borrow.yaml")
	text, err := os.ReadFile(jobs)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	preemptible := filepath.Join(dir, "normal.yaml")
	if err := os.WriteFile(preemptible, []byte(strings.Replace(string(text), "priority_class: high", "priority_class: normal", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		args      []string
		wantWaitS string
	}{
		{"high", []string{"--workload", jobs}, "601200"},
		{"normal", []string{"--workload", preemptible}, "601200"},
		{"normal-no-ratio", []string{"--workload", preemptible, "--policy", "victim_ratio=0"}, "0"},
		// reclaim free of the ratio, priority preemption still bound
		{"normal-reclaim-any", []string{"--workload", preemptible, "--policy", "reclaim_victims=any"}, "0"},
		{"high-reclaim-any", []string{"--workload", jobs, "--policy", "reclaim_victims=any"}, "601200"},
	} {
		out := filepath.Join(dir, c.name)
		args := append([]string{"sim", "--facility", fac, "--out", out}, c.args...)
		if text, err := runCLI(t, args...); err != nil {
			t.Fatalf("%s: %v\n%s", c.name, err, text)
		}
		f, err := os.Open(filepath.Join(out, "jobs.csv"))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range rows[1:] {
			if r[0] == "small-a" { // columns: job, tenant, gpus, submit, start, end, wait_s
				found = true
				if r[6] != c.wantWaitS {
					t.Errorf("%s: small-a waited %s s, want %s", c.name, r[6], c.wantWaitS)
				}
			}
		}
		if !found {
			t.Errorf("%s: no row for small-a in jobs.csv", c.name)
		}
	}
}

// With the policy's borrowing: preemptible, the twin replays the pools
// facility's own mix (600 jobs, 21 deployments, most classes not
// preemptible) with every plan checked by plan.Verify, which refuses a
// start that takes a tenant beyond its nominal quota with a job that is
// not preemptible (a deployment scaling up used to). Jobs of such
// classes that need more than their tenant's nominal quota never start;
// the others do.
func TestPoolsBorrowPreemptibleOnly(t *testing.T) {
	dir := t.TempDir()
	fac := filepath.Join("..", "..", "examples", "pools.yaml")
	jobs := filepath.Join(dir, "pools.jsonl")
	if text, err := runCLI(t, "workload", "generate", "--facility", fac, "--jobs", "600", "--seed", "1",
		"--start", "2023-03-01T00:00:00Z", "-o", jobs); err != nil {
		t.Fatalf("generate: %v\n%s", err, text)
	}
	out := filepath.Join(dir, "out")
	if text, err := runCLI(t, "sim", "--facility", fac, "--workload", jobs, "--arrival-rate", "0.5",
		"--policy", "borrowing=preemptible", "--out", out); err != nil {
		t.Fatalf("sim with borrowing=preemptible: %v\n%s", err, text)
	}
	b, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Finished     int `json:"finished"`
		NeverStarted int `json:"never_started"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s.NeverStarted == 0 || s.Finished == 0 || s.Finished+s.NeverStarted != 600 {
		t.Errorf("finished %d, never started %d of 600; want some of each (non-preemptible jobs beyond their tenant's nominal quota never start)", s.Finished, s.NeverStarted)
	}
}
