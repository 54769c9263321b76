package server

import (
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A gang whose replica failed ends failed by that replica, with its exit
// code, even when the server restarts while the rest stop and a replica
// before it in the record already ended by the stop's signal (before, the
// restarted server took the first ended replica in the record for the
// cause: "replica 0 ended by a signal", and its code).
func TestGangFailureCauseSurvivesRestart(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(1, 3))
	e.pass()
	e.report("n1", running(id, 0, 1), running(id, 1, 1), running(id, 2, 1))
	e.clock.add(time.Second)
	e.report("n1", running(id, 0, 1), exited(id, 1, 1, 3), running(id, 2, 1)) // the failure: the rest are stopped
	e.clock.add(time.Second)
	e.report("n1", exitedSig(id, 0, 1, 143, "terminated"), running(id, 2, 1))
	e = e.restart(true)
	e.clock.add(time.Second)
	e.report("n1", exitedSig(id, 2, 1, 143, "terminated"))
	j := e.job(id)
	if j.State != api.StateFailed || !strings.Contains(j.Message, "replica 1 exited with code 3") || j.ExitCode == nil || *j.ExitCode != 3 {
		t.Errorf("job %s %q exit code %v; want failed by replica 1's code 3", j.State, j.Message, fmtCode(j.ExitCode))
	}
}

func fmtCode(c *int) any {
	if c == nil {
		return nil
	}
	return *c
}
