package scenario

import (
	"context"
	"testing"

	"github.com/carnot-dc/carnot/internal/bundled"
)

// TestNoPreemptionCycle replays the workload that once made the core
// preempt two jobs in turn for ever under an 80 % envelope (victims took
// back the GPUs claimed for the job they were evicted for): the run must
// end, well inside its pass limit, with almost every job finished.
func TestNoPreemptionCycle(t *testing.T) {
	s, err := LoadFile("testdata/livelock.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases, err := Prepare(s, Options{Grid: bundled.Grid})
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(context.Background(), cases, RunOptions{Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out {
		if o.Err != nil {
			t.Fatalf("%s: %v", o.Name, o.Err)
		}
	}
}
