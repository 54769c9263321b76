package server

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/auth"
)

// jobCensus is the census's job column: what the job token of a running
// job of tenant a may do with every operation of api.Routes, in three
// cells: on its own job, on another job of its tenant, and on a job of
// tenant b (for an operation on no job, the census's request for a
// thing of tenant a, a and b). Cells are as the census's: '+' allowed,
// '-' forbidden (403), 'h' hidden (404, as for no such job).
var jobCensus = map[string]string{
	"health": "+++", "ready": "+++", "openapi": "+++", "whoami": "+++",
	"getJob": "+hh", "jobEvents": "+hh", "whyJob": "+hh", "checkpointJob": "+hh",

	"metrics": "---", "lastPlan": "---", "listNodes": "---", "getNode": "---",
	"drainNode": "---", "undrainNode": "---", "fenceNode": "---", "unfenceNode": "---",
	"forgetNode": "---", "reenrollNode": "---", "revokeNode": "---",
	"submitJob": "---", "submitDeployment": "---", "cancelJob": "---",
	"listJobs": "---", "listDeployments": "---", "watch": "---", "jobLogs": "---", "getDeployment": "---",
	"listSites": "---", "listTenants": "---", "usage": "---", "listEvents": "---",
	"auditCheckpoint": "---", "auditEntries": "---", "auditConsistency": "---", "auditExport": "---",
	"createToken": "---", "listTokens": "---", "revokeToken": "---",
	"listSecrets": "---", "putSecret": "---", "deleteSecret": "---",
	"agentEnroll": "---", "agentRegister": "---", "agentHeartbeat": "---", "agentAssignments": "---",
}

// The job column of the census: every route, on both listeners, sent
// with the job token of a running job of tenant a, on its own job,
// another job of its tenant and a job of tenant b. The token reads its
// own job and reports its checkpoints; another job is hidden, whoever's;
// everything else is forbidden (the tenant listener's operator-only
// routes answer their 404). Once the attempt is over, every route
// answers 401 with it, on both listeners.
func TestCensusJobToken(t *testing.T) {
	f := newFixture(t)
	mine := f.e.submit(jobOf("a"))
	f.e.pass() // starts it, and the fixture's pending jobs beside it
	if j := f.e.job(mine); j.State != api.StateRunning {
		t.Fatalf("job %s: %s %q; want running", mine, j.State, j.Message)
	}
	f.jobTok = taskToken(f.e, mine)
	p := principal{"job", auth.Job, "a"}
	sibling := f.jobs["a"]
	cells := 0
	for _, rt := range api.Routes {
		row := jobCensus[rt.Op]
		if len(row) != 3 || strings.Trim(row, "+-h") != "" {
			t.Errorf("%s %s (%s): no job census row of three cells of + - h (%q)", rt.Method, rt.Path, rt.Op, row)
			continue
		}
		for listener, h := range map[string]http.Handler{"operator": f.e.s.Handler(), "tenant": f.e.s.TenantHandler()} {
			for k, c := range []struct{ what, tenant, job string }{
				{"its own job", "a", mine}, {"another job of its tenant", "a", sibling}, {"a job of tenant b", "b", f.jobs["b"]}} {
				f.jobs[c.tenant] = c.job
				path, body := f.target(t, rt, c.tenant)
				f.jobs["a"] = sibling
				w := f.send(t, h, rt.Method, path, body, func(r *http.Request) *http.Request { return f.as(t, r, p) })
				got, want := f.outcome(t, h, p, rt, path, w), row[k]
				cells++
				if listener == "tenant" && auth.AdminOnly(rt.Op) {
					want = outOperatorOnly
				}
				if got == '+' && want == '+' && w.Code >= 300 {
					t.Errorf("%s listener, %s with the job token on %s (%s %s): allowed, but %d %s",
						listener, rt.Op, c.what, rt.Method, path, w.Code, strings.TrimSpace(w.Body.String()))
				}
				if got != want {
					t.Errorf("%s listener, %s with the job token on %s (%s %s): got %c, want %c: %d %s",
						listener, rt.Op, c.what, rt.Method, path, got, want, w.Code, strings.TrimSpace(w.Body.String()))
				}
			}
		}
	}
	t.Logf("%d cells: %d operations × own job, another of its tenant, another tenant's × 2 listeners", cells, len(api.Routes))
	for op := range jobCensus {
		if !slices.ContainsFunc(api.Routes, func(rt api.Route) bool { return rt.Op == op }) {
			t.Errorf("job census row %q is no operation of api.Routes", op)
		}
	}

	// The attempt ends: the token is refused everywhere, 401.
	f.e.report("n1", exited(mine, 0, 1, 0))
	if j := f.e.job(mine); !api.Final(j.State) {
		t.Fatalf("job %s once its replica exited: %s; want it ended", mine, j.State)
	}
	for listener, h := range map[string]http.Handler{"operator": f.e.s.Handler(), "tenant": f.e.s.TenantHandler()} {
		for _, rt := range api.Routes {
			path := strings.NewReplacer("{id}", mine, "{name}", "n1").Replace(rt.Path)
			w := f.send(t, h, rt.Method, path, nil, bearer(f.jobTok))
			if w.Code != http.StatusUnauthorized || !strings.Contains(detail(w), "has ended") {
				t.Errorf("%s listener, %s %s with the token of an attempt over: %d %s; want 401 saying the job has ended",
					listener, rt.Method, path, w.Code, w.Body.String())
			}
		}
	}
}
