package server

import (
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A gang whose replica failed says so while the others are stopped: its
// message said "started on …" until the last of them had ended, though
// stop_by was set and the job was ending.
func TestGangStoppingAfterAFailureSaysWhy(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(1, 2, "checkpoint_grace", "30s"))
	e.pass()
	e.report("n1", running(id, 0, 1), running(id, 1, 1))
	e.clock.add(time.Second)
	e.report("n1", exited(id, 0, 1, 3), running(id, 1, 1))
	j := e.job(id)
	want := "replica 0 exited with code 3; stopping the others (grace until 2026-03-02T10:00:06Z)"
	if j.State != api.StateRunning || j.Message != want {
		t.Errorf("a gang stopping after a failure: %s %q; want running %q", j.State, j.Message, want)
	}
}
