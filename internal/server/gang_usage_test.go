package server

import (
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A gang's replica that ends before the others keeps its GPUs until the
// attempt ends (only a deployment's replicas are freed one by one), so
// its GPU time counts until then: usage is the GPU-seconds held.
func TestGangReplicaEndedEarlyCountsUntilTheAttemptEnds(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(4, 2))
	e.pass()
	e.report("n1", running(id, 0, 1), running(id, 1, 1))
	e.clock.add(10 * time.Minute)
	e.report("n1", exited(id, 0, 1, 0), running(id, 1, 1))
	if used := e.gpusUsed("n1"); used != 8 {
		t.Fatalf("n1 has %d GPUs in use after replica 0 ended; want the gang's 8 until it ends", used)
	}
	e.clock.add(50 * time.Minute)
	if got, want := e.job(id).Usage.GPUSeconds, 8*3600.0; got != want {
		t.Errorf("GPU-seconds %v while replica 1 runs on, want %v: 8 GPUs held for an hour", got, want)
	}
	e.report("n1", exited(id, 0, 1, 0), exited(id, 1, 1, 0))
	if j := e.job(id); j.State != api.StateSucceeded || j.Usage.GPUSeconds != 8*3600 {
		t.Errorf("%s with %v GPU-seconds, want succeeded with %v", j.State, j.Usage.GPUSeconds, 8*3600.0)
	}
}
