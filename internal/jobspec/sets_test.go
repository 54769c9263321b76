package jobspec

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSets: gpu_model and jurisdictions are sets: a job that named
// [H100, H100] or [EU, FR, EU] loaded silently. A repeated item is now
// refused on its own line, naming it; command, whose order and repeats
// mean something, keeps them.
func TestSets(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string
		data []byte
		want []string
	}{{
		name: "flow lists",
		file: "j.yaml",
		data: lines("- {id: a, tenant: acme, gpus: 1, gpu_model: [H100, H200, H100], jurisdictions: [EU, FR, EU, FR]}"),
		want: []string{
			`j.yaml:1: jobs[0].gpu_model[2]: GPU model "H100" is listed twice`,
			`j.yaml:1: jobs[0].jurisdictions[2]: tag "EU" is listed twice`,
			`j.yaml:1: jobs[0].jurisdictions[3]: tag "FR" is listed twice`,
		},
	}, {
		name: "block lists, with a facility",
		file: "j.yaml",
		data: lines(
			"id: a",
			"tenant: eu-lab",
			"gpus: 1",
			"gpu_model:",
			"  - H100",
			"  - H100",
			"jurisdictions:",
			"  - FR",
			"  - FR",
		),
		want: []string{
			`j.yaml:6: jobs[0].gpu_model[1]: GPU model "H100" is listed twice`,
			`j.yaml:9: jobs[0].jurisdictions[1]: tag "FR" is listed twice`,
		},
	}, {
		name: "JSONL",
		file: "j.jsonl",
		data: []byte(`{"id":"a","tenant":"acme","gpus":1}` + "\n" + `{"id":"b","tenant":"acme","gpus":1,"gpu_model":["H200","H200"],"jurisdictions":["US","US"]}` + "\n"),
		want: []string{
			`j.jsonl:2: jobs[1].gpu_model[1]: GPU model "H200" is listed twice`,
			`j.jsonl:2: jobs[1].jurisdictions[1]: tag "US" is listed twice`,
		},
	}, {
		name: "empty items are named once, as empty",
		file: "j.yaml",
		data: lines("- {id: a, tenant: acme, gpus: 1, gpu_model: ['', '']}"),
		want: []string{
			`j.yaml:1: jobs[0].gpu_model[0]: must not be empty`,
			`j.yaml:1: jobs[0].gpu_model[1]: must not be empty`,
		},
	}, {
		name: "a long list",
		file: "j.yaml",
		data: lines(fmt.Sprintf("- {id: a, tenant: acme, gpus: 1, jurisdictions: [%sX40]}", tags(40))),
		want: []string{`j.yaml:1: jobs[0].jurisdictions[41]: tag "X40" is listed twice`},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var fac = testFacility()
			if !strings.Contains(tc.name, "facility") {
				fac = nil
			}
			_, err := Load(tc.file, tc.data, fac)
			if diff := cmp.Diff(tc.want, errLines(t, err)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
	jobs, err := Load("j.yaml", lines("- {id: a, tenant: acme, gpus: 1, gpu_model: [H200, H100], command: [sh, -c, x, x]}"), testFacility())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"sh", "-c", "x", "x"}, jobs[0].Command); diff != "" {
		t.Errorf("command (-want +got):\n%s", diff)
	}
}

// tags is "X0, X1, …, Xn, ".
func tags(n int) string {
	var b strings.Builder
	for i := 0; i <= n; i++ {
		fmt.Fprintf(&b, "X%d, ", i)
	}
	return b.String()
}

// TestReload: a spec stored before sets refused repeats (the server
// keeps what Marshal wrote) still reads, with each item once; Load
// refuses the same line.
func TestReload(t *testing.T) {
	line := []byte(`{"id":"a","tenant":"acme","priority_class":"normal","replicas":1,"gpus":1,"gpu_model":["H100","H200","H100"],"preemptible":true,"jurisdictions":["EU","EU"],"command":["x","x"]}` + "\n")
	jobs, err := Reload("a.jsonl", line)
	if err != nil {
		t.Fatal(err)
	}
	j := jobs[0]
	if diff := cmp.Diff([][]string{{"H100", "H200"}, {"EU"}, {"x", "x"}}, [][]string{j.GPUModels, j.Jurisdictions, j.Command}); diff != "" {
		t.Errorf("reloaded (-want +got):\n%s", diff)
	}
	if _, err := Load("a.jsonl", line, nil); err == nil {
		t.Error("Load took a set with a repeated item")
	}
	if _, err := Reload("a.jsonl", []byte(`{"id":"a","gpus":1}`+"\n")); err == nil {
		t.Error("Reload took a job without a tenant")
	}
}

// TestReloadWindowBeforeSubmit: a stored spec whose window, measured
// from earliest_start as earlier versions did, holds its runtime still
// reads, though it was submitted too late for it; Load refuses it.
func TestReloadWindowBeforeSubmit(t *testing.T) {
	line := []byte(`{"id":"a","tenant":"acme","priority_class":"normal","replicas":1,"gpus":1,"preemptible":true,"runtime_limit":3600,"earliest_start":1767600000,"deadline":1767607200,"submit_time":1767700000}` + "\n")
	if _, err := Reload("a.jsonl", line); err != nil {
		t.Errorf("Reload: %v", err)
	}
	if _, err := Load("a.jsonl", line, nil); err == nil {
		t.Error("Load took a job submitted after its deadline")
	}
}
