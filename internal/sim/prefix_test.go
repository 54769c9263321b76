package sim

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/workload"
)

// TestMillionPrefixVerifies replays the first 32,000 jobs of the
// million-job benchmark workload at depth 100 with the twin's checker
// on, so that every plan the core makes is verified: a long, realistic
// run meets combinations of claims, preemptions, quotas and power that
// small tests do not (it caught a start on GPUs claimed for a job still
// preempting, at its 30,399th job). About 12 s.
func TestMillionPrefixVerifies(t *testing.T) {
	if raceDetector || testing.Short() {
		t.Skip("a 32,000-job replay; make check runs it without the race detector")
	}
	fac := workload.GenerateFacility(workload.DefaultFacilityConfig())
	jobs := workload.Generate(fac, 1_000_000, 1, t0)[:32_000]
	res, err := Run(Config{Facility: fac, Jobs: jobs, PassDepth: 100}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Passes == 0 {
		t.Fatal("no pass ran")
	}
}
