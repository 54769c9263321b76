package jobspec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
)

// TestLoadFileToReplay: the twin needs every job's submit time; a job
// without one is named by file, line and field, and Load still takes it.
func TestLoadFileToReplay(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.jsonl")
	data := `{"id":"a","tenant":"acme","gpus":1,"submit_time":"2026-01-05T08:00:00Z"}` + "\n\n" +
		`{"id":"b","tenant":"acme","gpus":1}` + "\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(path, nil); err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	_, err := LoadFileToReplay(path, nil)
	if want := path + ":3: jobs[1].submit_time: is required"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("LoadFileToReplay: %v, want %s…", err, want)
	}
	if err := os.WriteFile(path, []byte(data[:strings.Index(data, "\n")]), 0o644); err != nil {
		t.Fatal(err)
	}
	if jobs, err := LoadFileToReplay(path, nil); err != nil || len(jobs) != 1 || jobs[0].SubmitTime != t0 {
		t.Fatalf("LoadFileToReplay of a job with a submit time: %v, %v", jobs, err)
	}
}

// TestLoadRefusesEmptyReplicas: a replica that asks for no GPUs, CPUs or
// memory never starts (the core marks it invalid), so the twin's loader
// and any load against a facility refuse it with its line and field; a
// load without a facility or a replay, which checks the format only,
// still takes it.
func TestLoadRefusesEmptyReplicas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.yaml")
	data := lines(
		"- {id: a, tenant: acme, gpus: 1, submit_time: 2026-01-05T08:00:00Z}",
		"- {id: cpu, tenant: acme, gpus: 0, cpus: 2, submit_time: 2026-01-05T08:00:00Z}",
		"- id: nothing",
		"  tenant: acme",
		"  gpus: 0",
		"  submit_time: 2026-01-05T08:00:00Z",
	)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	want := []string{path + ":5: jobs[2].gpus: a replica must ask for GPUs, CPUs or memory: give gpus, cpus or memory_gib"}
	for _, tt := range []struct {
		name string
		load func() ([]*model.Job, error)
	}{
		{"LoadFileToReplay", func() ([]*model.Job, error) { return LoadFileToReplay(path, nil) }},
		{"LoadFileToReplay with a facility", func() ([]*model.Job, error) { return LoadFileToReplay(path, testFacility()) }},
		{"LoadFile with a facility", func() ([]*model.Job, error) { return LoadFile(path, testFacility()) }},
	} {
		jobs, err := tt.load()
		if diff := cmp.Diff(want, errLines(t, err)); diff != "" || jobs != nil {
			t.Errorf("%s: %d jobs, errors (-want +got):\n%s", tt.name, len(jobs), diff)
		}
	}
	if jobs, err := LoadFile(path, nil); err != nil || len(jobs) != 3 {
		t.Errorf("LoadFile without a facility: %d jobs, %v; want the 3 jobs", len(jobs), err)
	}
}

// TestReplayRefusesUndefinedDataClass: the live server refuses a job
// whose data class the facility does not define, also when it defines
// none (the class says where the job's data may live; a facility without
// it says nowhere, not anywhere). The twin's loaders refuse it the same
// way, at the job's file, line and field, instead of replaying it as a
// label that lets it run on any site. Load and LoadFile, which check the
// format and a facility's limits, still take it.
func TestReplayRefusesUndefinedDataClass(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.yaml")
	data := lines(
		"- {id: a, tenant: acme, gpus: 1, submit_time: 2026-01-05T08:00:00Z}",
		"- id: health",
		"  tenant: acme",
		"  gpus: 1",
		"  data_class: personal",
		"  submit_time: 2026-01-05T08:00:00Z",
	)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	fac := testFacility() // defines no data class
	want := path + `:5: jobs[1].data_class: unknown data class "personal": the facility defines no data class`
	for name, load := range map[string]func() error{
		"LoadFileToReplay": func() error { _, err := LoadFileToReplay(path, fac); return err },
		"LoadFileGiven":    func() error { _, _, err := LoadFileGiven(path, fac, false); return err },
		"LoadFile":         func() error { _, err := LoadFile(path, fac); return err }, // carnot schedule, workload validate
	} {
		if err := load(); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: %v, want %s…", name, err, want)
		}
	}
	if _, err := LoadFile(path, nil); err != nil { // no facility: nothing to check against
		t.Errorf("LoadFile without a facility: %v", err)
	}
	fac.DataClasses = map[string][]string{"personal": {"FR"}}
	if jobs, err := LoadFileToReplay(path, fac); err != nil || len(jobs) != 2 || jobs[1].DataClass != "personal" {
		t.Errorf("LoadFileToReplay with the class defined: %v, %v", jobs, err)
	}
}
