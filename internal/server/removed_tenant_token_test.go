package server

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// A tenant removed from the facility: its API tokens are refused (they
// would act for a tenant the facility does not know: submit, read its
// secrets, its other jobs), but its running jobs run on to their end
// (TestRemovedTenantsJobsEnd), and so does the job token of each, which
// acts for that one job alone. It reads its job and reports its
// checkpoints, nothing more, and acknowledges a preemption's notice, so
// that the GPUs the job holds are freed at once for the tenants that
// remain rather than at the end of its grace; once the job has ended it
// is refused as any other.
func TestRemovedTenantsJobTokenActsForItsRunningJobOnly(t *testing.T) {
	e := newEnv(t, withTenant(true), true)
	e.register("n1", "local", 8)
	acme := tokenFor(t, e.s, "member", "acme")
	run := e.submit(spec(8, 1, "tenant", "acme"))
	e.pass()
	e.report("n1", running(run, 0, 1))
	tok := taskToken(e, run)
	e.s.store.Close()

	e = openEnv(t, e.dir, withTenant(false), true, e.clock)
	e.report("n1", running(run, 0, 1))
	if code, body := e.doWith(bearer(acme), "GET", "/v1/jobs/"+run, nil, nil); code != http.StatusUnauthorized || !bytes.Contains(body, []byte("tenant acme, which the facility no longer has")) {
		t.Errorf("an API token of the removed tenant: %d %s; want 401 saying the facility no longer has it", code, body)
	}
	var who api.WhoAmI
	if code, body := e.doWith(bearer(tok), "GET", "/v1/whoami", nil, &who); code != http.StatusOK || who.Role != "job" || who.Tenant != "acme" {
		t.Errorf("whoami with the job token of the removed tenant's running job: %d %s; want role job, tenant acme", code, body)
	}
	if code, body := e.doWith(bearer(tok), "POST", "/v1/jobs/"+run+"/checkpoint", nil, nil); code != http.StatusOK {
		t.Errorf("its routine checkpoint: %d %s; want 200, recorded", code, body)
	}
	mine := e.submit(spec(8, 1, "priority_class", "high"))
	for _, c := range []struct {
		method, path string
		code         int
	}{{"GET", "/v1/jobs/" + mine, http.StatusNotFound}, {"GET", "/v1/jobs", http.StatusForbidden}, {"GET", "/v1/secrets", http.StatusForbidden}} {
		if code, body := e.doWith(bearer(tok), c.method, c.path, nil, nil); code != c.code {
			t.Errorf("%s %s with the job token of the removed tenant's job: %d %s; want %d", c.method, c.path, code, body, c.code)
		}
	}

	e.pass()
	if j := e.job(run); j.State != api.StatePreempting {
		t.Fatalf("the removed tenant's job once %s waits for its GPUs: %s %q; want preempted", mine, j.State, j.Message)
	}
	if code, body := e.doWith(bearer(tok), "POST", "/v1/jobs/"+run+"/checkpoint", api.CheckpointAck{Message: "saved"}, nil); code != http.StatusAccepted {
		t.Fatalf("its acknowledgement of the preemption: %d %s; want 202", code, body)
	}
	if j := e.job(run); j.StopBy == nil || j.StopBy.After(e.clock.now()) {
		t.Errorf("its stop after the acknowledgement: %v; want now (%v), not the end of the grace", j.StopBy, e.clock.now())
	}
	e.report("n1", exited(run, 0, 1, 137))
	if code, body := e.doWith(bearer(tok), "GET", "/v1/jobs/"+run, nil, nil); code != http.StatusUnauthorized {
		t.Errorf("the job token once its job ended: %d %s; want 401", code, body)
	}
}
