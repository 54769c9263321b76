package server

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// notUTCField matches a JSON field whose value is an RFC 3339 time with
// an offset other than Z.
var notUTCField = regexp.MustCompile(`"\w+":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d"`)

// The API writes every time in UTC, whatever the zone of the server's
// clock (time.Now is in the local zone).
func TestResponseTimesAreUTC(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 2, 11, 0, 0, 0, time.FixedZone("CET", 3600))}
	e := openEnv(t, t.TempDir(), DevFacility("local", "FR"), true, clk)
	if code := e.register("n1", "local", 8); code != 200 {
		t.Fatalf("register: %d", code)
	}
	a := e.submit(spec(4, 1, "runtime_limit", "1h", "restart", "on-failure", "max_retries", 2))
	b := e.submit(spec(4, 1))
	e.pass()
	e.report("n1", running(a, 0, 1), running(b, 0, 1))
	clk.add(time.Minute)
	e.report("n1", exited(b, 0, 1, 0), running(a, 0, 1))
	// The agent's clock, in its own zone, dates its GPU samples.
	sample := api.GPUSample{Index: 0, Time: clk.now().In(time.FixedZone("EET", 7200)), PowerW: 300}
	if code := e.do("POST", "/v1/agent/nodes/n1/heartbeat", api.Heartbeat{Tasks: []api.TaskStatus{running(a, 0, 1)}, GPUs: []api.GPUSample{sample}}, nil); code != 200 {
		t.Fatalf("heartbeat: %d", code)
	}
	c := e.submit(spec(8, 1))
	e.pass()
	for _, path := range []string{
		"/v1/jobs", "/v1/jobs/" + a, "/v1/jobs/" + b, "/v1/jobs/" + c, "/v1/jobs/" + c + "/why", "/v1/jobs/" + a + "/events",
		"/v1/deployments", "/v1/nodes", "/v1/nodes/n1", "/v1/sites", "/v1/tenants", "/v1/usage", "/v1/plan", "/v1/events",
		"/v1/tokens", "/v1/whoami",
	} {
		w := e.raw("GET", path, nil)
		if w.Code != 200 {
			t.Errorf("GET %s: %d %s", path, w.Code, w.Body.String())
			continue
		}
		if m := notUTCField.FindAllString(w.Body.String(), -1); len(m) > 0 {
			t.Errorf("GET %s: times not in UTC: %s", path, strings.Join(m, ", "))
		}
	}
	check := func(what string, code int, body string) {
		t.Helper()
		if m := notUTCField.FindAllString(body, -1); len(m) > 0 {
			t.Errorf("%s: %d, times not in UTC: %s", what, code, strings.Join(m, ", "))
		}
	}
	w := e.raw("POST", "/v1/jobs/"+c+"/cancel", nil) // pending: cancelled at once
	check("cancel a pending job", w.Code, w.Body.String())
	// Its node silent past the heartbeat timeout, a's replica is lost.
	clk.add(time.Minute)
	e.pass()
	w = e.raw("GET", "/v1/jobs/"+a, nil)
	check("a job whose replica was lost", w.Code, w.Body.String())
	// A restarted server counts its nodes heard from now.
	e = e.restart(true)
	w = e.raw("GET", "/v1/nodes", nil)
	check("the nodes after a restart", w.Code, w.Body.String())
}
