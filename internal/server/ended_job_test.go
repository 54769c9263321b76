package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// A cancel and a checkpoint of a job the server no longer holds read it
// from the store alike (endedJob): one that ended answers, to whom may
// see it, that it ended (409 for a cancel, 404 for a checkpoint, naming
// its state); no job, or another tenant's, answers 404 "no job", the
// same; a store that cannot be read answers 503.
func TestEndedJobAnswers(t *testing.T) {
	e := newEnv(t, withTenant(true), true)
	e.register("n1", "local", 8)
	id := e.submit(spec(4, 1))
	e.pass()
	e.report("n1", exited(id, 0, 1, 0))
	if j := e.job(id); j.State != api.StateSucceeded {
		t.Fatalf("job %s: %s; want succeeded", id, j.State)
	}
	acme := bearer(tokenFor(t, e.s, "member", "acme"))
	mine := bearer(tokenFor(t, e.s, "operator-admin", ""))
	for _, c := range []struct {
		what, path string
		cred       func(*http.Request) *http.Request
		code       int
		detail     string
	}{
		{"cancel of a job that ended", "/v1/jobs/" + id + "/cancel", mine, http.StatusConflict, "job " + id + " already succeeded"},
		{"checkpoint of a job that ended", "/v1/jobs/" + id + "/checkpoint", mine, http.StatusNotFound, "job " + id + " has ended (succeeded)"},
		{"cancel of another tenant's job that ended", "/v1/jobs/" + id + "/cancel", acme, http.StatusNotFound, `no job "` + id + `"`},
		{"checkpoint of another tenant's job that ended", "/v1/jobs/" + id + "/checkpoint", acme, http.StatusNotFound, `no job "` + id + `"`},
		{"cancel of no job", "/v1/jobs/j-nosuchjob/cancel", mine, http.StatusNotFound, `no job "j-nosuchjob"`},
		{"checkpoint of no job", "/v1/jobs/j-nosuchjob/checkpoint", mine, http.StatusNotFound, `no job "j-nosuchjob"`},
	} {
		if code, body := e.doWith(c.cred, "POST", c.path, nil, nil); code != c.code || !strings.HasPrefix(problemDetail(body), c.detail) {
			t.Errorf("%s: %d %s; want %d %q", c.what, code, body, c.code, c.detail)
		}
	}
	e.s.store.Close()
	for _, path := range []string{"/v1/jobs/" + id + "/cancel", "/v1/jobs/" + id + "/checkpoint"} {
		if code, body := e.doWith(mine, "POST", path, nil, nil); code != http.StatusServiceUnavailable || !strings.HasPrefix(problemDetail(body), "reading job "+id) {
			t.Errorf("POST %s with the store closed: %d %s; want 503 reading job", path, code, body)
		}
	}
}

// problemDetail is the detail of the problem body holds.
func problemDetail(body []byte) string {
	var p api.Problem
	json.Unmarshal(body, &p)
	return p.Detail
}
