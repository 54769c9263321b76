package server

import (
	"net/http"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// An ended replica's GPUs stay its job's until the attempt ends (a
// gang's, and those of a deployment being stopped), and its GPU time
// counts until then: a restarted server keeps them so (before, it freed
// them at reload, for the core to place other work on while the job was
// still billed for them).
func TestEndedReplicasKeepTheirGPUsAcrossRestart(t *testing.T) {
	for name, setup := range map[string]func(e *env) string{
		"gang with a replica done early": func(e *env) string {
			id := e.submit(spec(4, 2))
			e.pass()
			e.report("n1", running(id, 0, 1), running(id, 1, 1))
			e.clock.add(time.Second)
			e.report("n1", exited(id, 0, 1, 0), running(id, 1, 1))
			return id
		},
		"deployment being cancelled": func(e *env) string {
			var d api.Job
			if code := e.do("POST", "/v1/deployments", spec(4, 2, "checkpoint_grace", "60s"), &d); code != http.StatusCreated {
				t.Fatalf("submit: %d", code)
			}
			e.pass()
			e.report("n1", running(d.ID, 0, 1), running(d.ID, 1, 1))
			if code := e.do("POST", "/v1/jobs/"+d.ID+"/cancel", nil, nil); code != http.StatusAccepted {
				t.Fatalf("cancel: %d", code)
			}
			e.clock.add(time.Second)
			e.report("n1", api.TaskStatus{Job: d.ID, Replica: 0, Attempt: 1, State: api.ReplicaExited, Signal: "terminated"}, running(d.ID, 1, 1))
			return d.ID
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := devEnv(t)
			id := setup(e)
			if used := e.gpusUsed("n1"); used != 8 {
				t.Fatalf("n1 has %d GPUs in use before the restart; want the job's 8", used)
			}
			e = e.restart(true)
			e.report("n1", running(id, 1, 1))
			if used := e.gpusUsed("n1"); used != 8 {
				t.Errorf("n1 has %d GPUs in use after the restart; want the job's 8 until its attempt ends", used)
			}
			other := e.submit(spec(4, 1))
			e.pass()
			if j := e.job(other); j.State != api.StatePending {
				t.Errorf("a 4-GPU job is %s on GPUs the job still holds (and is billed for); want pending", j.State)
			}
			e.clock.add(10 * time.Second)
			e.report("n1", exited(id, 1, 1, 0))
			e.pass()
			if j := e.job(other); j.State != api.StateRunning {
				t.Errorf("the 4-GPU job is %s once the attempt ended; want running", j.State)
			}
		})
	}
}
