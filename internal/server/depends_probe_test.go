package server

import (
	"net/http"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// A dependency with restart: on-failure is waited for through its
// retries; a held job cancelled by its user cancels its own dependents
// and leaves the others waiting; a deployment depending on a job starts
// once it succeeded.
func TestDependsOnRetriesCancelAndDeployment(t *testing.T) {
	e := devEnv(t)
	a := e.submit(spec(1, 1, "id", "a", "restart", "on-failure", "max_retries", 1))
	b := e.submit(spec(1, 1, "id", "b", "depends_on", "a"))
	c := e.submit(spec(1, 1, "id", "c", "depends_on", "b"))
	if code := e.do("POST", "/v1/deployments", spec(1, 1, "id", "svc", "depends_on", "a"), nil); code != http.StatusCreated {
		t.Fatalf("a deployment depending on a job: %d", code)
	}
	e.pass()
	e.report("n1", exited(a, 0, 1, 1))
	e.pass()
	if j := e.job(b); j.State != api.StatePending || j.Reason == nil || j.Reason.Code != string(model.ReasonDependency) {
		t.Fatalf("b, a failed once with a retry left: %s %+v; want held", j.State, j.Reason)
	}
	if code := e.do("POST", "/v1/jobs/"+b+"/cancel", nil, nil); code != http.StatusOK {
		t.Fatalf("cancel b: %d", code)
	}
	if j := e.job(c); j.State != api.StateCancelled || j.Message != "dependency b cancelled" {
		t.Errorf("c once b was cancelled: %s %q", j.State, j.Message)
	}
	if j := e.job("svc"); j.State != api.StatePending || j.Reason == nil || j.Reason.Code != string(model.ReasonDependency) {
		t.Errorf("svc, b cancelled, a retried: %s %+v; want held", j.State, j.Reason)
	}
	e.report("n1", exited(a, 0, 2, 0))
	e.pass()
	if j := e.job("svc"); j.State != api.StateRunning {
		t.Errorf("svc once a succeeded on its retry: %s %q", j.State, j.Message)
	}
}
