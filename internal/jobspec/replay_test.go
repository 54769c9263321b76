package jobspec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
