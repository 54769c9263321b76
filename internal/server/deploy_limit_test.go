package server

import (
	"net/http"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A deployment's replica stopped at the deployment's runtime limit is
// not replaced (a replacement would get the same deadline, already
// past, and be stopped at once by its agent, again and again): the
// rest are stopped, and the deployment fails at its runtime limit, as
// a job does; a restart while they stop keeps it so.
func TestDeploymentAtItsRuntimeLimitReplacesNothing(t *testing.T) {
	for _, restart := range []bool{false, true} {
		e := devEnv(t)
		var d api.Job
		if code := e.do("POST", "/v1/deployments", spec(1, 2, "runtime_limit", 60), &d); code != http.StatusCreated {
			t.Fatalf("submit: %d", code)
		}
		e.pass()
		e.report("n1", running(d.ID, 0, 1), running(d.ID, 1, 1))
		e.clock.add(61 * time.Second)
		e.report("n1", exitedSig(d.ID, 0, 1, 143, "runtime-limit"), running(d.ID, 1, 1))
		if restart {
			e = e.restart(true)
		}
		e.pass()
		if rs := e.job(d.ID).Replicas; len(rs) != 2 {
			t.Fatalf("restart %v: replicas %+v; want no replacement past the runtime limit", restart, rs)
		}
		var stop bool
		for _, tk := range e.tasks("n1") {
			stop = tk.Replica == 1 && tk.Stop
		}
		if !stop {
			t.Errorf("restart %v: n1's tasks %+v; want replica 1 told to stop", restart, e.tasks("n1"))
		}
		e.report("n1", exitedSig(d.ID, 1, 1, 143, "terminated"))
		if j := e.job(d.ID); j.State != api.StateFailed || j.Message != "runtime limit reached" {
			t.Errorf("restart %v: %s %q; want failed: runtime limit reached", restart, j.State, j.Message)
		}
	}
}
