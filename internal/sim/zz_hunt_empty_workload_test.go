package sim

import "testing"

// TestRunNoJobs: Run with a facility and no jobs panics ("index out of
// range [0] with length 0" in queue.peek, sim.go: last := t.q.peek())
// instead of returning an error or an empty result. carnot sim reached it
// with an empty job file, a header-only Philly file, or a trace whose
// every job was left out; the CLI now refuses those inputs, but Run
// itself should not panic on them. Found by the readers hunt; the engine
// is not the hunt's to change.
func TestRunNoJobs(t *testing.T) {
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("Run with no jobs panicked: %v", p)
		}
	}()
	res, err := Run(Config{Facility: facility(1)}, nil)
	if err == nil && res == nil {
		t.Fatal("Run with no jobs returned neither a result nor an error")
	}
}
