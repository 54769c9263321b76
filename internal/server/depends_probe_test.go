package server

import (
	"net/http"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

func TestProbeDeps(t *testing.T) {
	e := devEnv(t)
	a := e.submit(spec(1, 1, "id", "a", "restart", "on-failure", "max_retries", 1))
	b := e.submit(spec(1, 1, "id", "b", "depends_on", "a"))
	c := e.submit(spec(1, 1, "id", "c", "depends_on", "b"))
	var d api.Job
	if code := e.do("POST", "/v1/deployments", spec(1, 1, "id", "svc", "depends_on", "a"), &d); code != http.StatusCreated {
		t.Fatalf("deployment dependent: %d", code)
	}
	e.pass()
	e.report("n1", exited(a, 0, 1, 1))
	e.pass()
	t.Logf("after a's first failure: a %s %q; b %s %+v", e.job(a).State, e.job(a).Message, e.job(b).State, e.job(b).Reason)
	if code := e.do("POST", "/v1/jobs/"+b+"/cancel", nil, nil); code != 200 {
		t.Fatalf("cancel b: %d", code)
	}
	t.Logf("c after b cancelled: %s %q", e.job(c).State, e.job(c).Message)
	e.pass()
	t.Logf("a %s", e.job(a).State)
	e.report("n1", exited(a, 0, 2, 0))
	e.pass()
	t.Logf("svc: %s %q", e.job("svc").State, e.job("svc").Message)
	var why api.Why
	e.do("GET", "/v1/jobs/svc/why", nil, &why)
	t.Logf("why %+v", why)
}
