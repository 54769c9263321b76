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
