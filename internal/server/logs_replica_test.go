package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// The logs of a replica a job does not have are refused saying which
// replicas it has, in words that fit the count: "has 1 replica (0)",
// not "has 1 replicas".
func TestLogsOfAReplicaItDoesNotHave(t *testing.T) {
	e := devEnv(t)
	one := e.submit(spec(1, 1))
	three := e.submit(spec(1, 3))
	e.pass()
	for _, c := range []struct{ id, want string }{
		{one, "has 1 replica (0)"}, {three, "has 3 replicas (0 to 2)"},
	} {
		var p api.Problem
		if code := e.do("GET", "/v1/jobs/"+c.id+"/logs?replica=7", nil, &p); code != http.StatusNotFound || !strings.Contains(p.Detail, c.want) {
			t.Errorf("logs of replica 7 of %s: %d %q; want 404 saying %q", c.id, code, p.Detail, c.want)
		}
	}
}

// GET /v1/deployments/{id} of a job is 404 pointing to where the job
// is, for a caller that may see it (one that may not learns nothing).
func TestDeploymentRouteOfAJobPointsToIt(t *testing.T) {
	e := secEnv(t)
	id := e.submit(jobOf("a"))
	code, body := e.doWith(withBearer(tokenFor(t, e.s, "member", "a")), "GET", "/v1/deployments/"+id, nil, nil)
	if code != http.StatusNotFound || !strings.Contains(string(body), "/v1/jobs/"+id) {
		t.Errorf("GET /v1/deployments/%s (a job) as its tenant: %d %s; want 404 pointing to /v1/jobs/%s", id, code, body, id)
	}
	code, body = e.doWith(withBearer(tokenFor(t, e.s, "member", "b")), "GET", "/v1/deployments/"+id, nil, nil)
	if code != http.StatusNotFound || strings.Contains(string(body), "/v1/jobs/") {
		t.Errorf("GET /v1/deployments/%s (a's job) as b: %d %s; want a bare 404", id, code, body)
	}
}

// The logs of a job that ended before it ever started (cancelled while
// pending) are refused saying so, not that it "has not started yet":
// `carnot logs -f` on a queued job prints that answer once the job is
// cancelled, and a job that will never start has no "yet".
func TestLogsOfAJobThatNeverStarted(t *testing.T) {
	e := devEnv(t)
	queued := e.submit(spec(1, 1))
	cancelled := e.submit(spec(1, 1))
	if code := e.do("POST", "/v1/jobs/"+cancelled+"/cancel", nil, nil); code != http.StatusOK {
		t.Fatalf("cancel a pending job: %d", code)
	}
	for _, c := range []struct{ id, want string }{
		{queued, "has not started yet: no logs"}, {cancelled, "was cancelled before it started: no logs"},
	} {
		var p api.Problem
		if code := e.do("GET", "/v1/jobs/"+c.id+"/logs", nil, &p); code != http.StatusNotFound || !strings.HasSuffix(p.Detail, c.want) {
			t.Errorf("logs of %s: %d %q; want 404 saying %q", c.id, code, p.Detail, c.want)
		}
	}
}
