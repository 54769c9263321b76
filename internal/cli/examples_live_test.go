package cli

import (
	"io"
	"path/filepath"
	"testing"
)

// TestLiveExamplesSubmit: the job files of examples/live, which
// docs/operations.md and the README submit to carnot dev, pass carnot
// submit's own checks (every job has a command and asks for resources).
func TestLiveExamplesSubmit(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "examples", "live", "*.yaml"))
	if len(files) == 0 {
		t.Fatal("no job files in examples/live")
	}
	for _, f := range files {
		jobs, err := loadForSubmit(f, nil, io.Discard)
		if err != nil || len(jobs) == 0 {
			t.Errorf("%s: %d jobs, %v", f, len(jobs), err)
		}
	}
}
