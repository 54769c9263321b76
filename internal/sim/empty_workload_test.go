package sim

import (
	"strings"
	"testing"
)

// TestRunNoJobs: Run with a facility and no jobs returns an error; it
// panicked ("index out of range [0] with length 0" in queue.peek). carnot
// sim reached it with an empty job file, a header-only Philly file, or a
// trace whose every job was left out (the CLI now refuses those inputs
// itself). Found by the readers hunt.
func TestRunNoJobs(t *testing.T) {
	res, err := Run(Config{Facility: facility(1)}, nil)
	if err == nil || !strings.Contains(err.Error(), "no jobs") {
		t.Fatalf("Run with no jobs: result %v, error %v; want an error saying there are no jobs", res, err)
	}
}
