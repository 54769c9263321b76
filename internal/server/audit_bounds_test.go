package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/audit"
	"github.com/carnot-dc/carnot/internal/model"
)

// rawWith sends body as is (json.Marshal would escape '<' six-fold past
// the body limit), with cred, to the operator listener.
func rawWith(e *env, cred func(*http.Request) *http.Request, method, path string, body []byte) (int, []byte) {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	e.s.Handler().ServeHTTP(w, cred(req))
	return w.Code, w.Body.Bytes()
}

// Text a request or a node puts in an event (a member's checkpoint note,
// a site a node claims) is bounded, so the server's own audit export
// always verifies: the log's canonical form writes '<' as six bytes, and
// a line may hold at most audit.MaxLine (a 900 KiB note made a 5.5 MB
// line, and carnot audit verify refused the whole export).
func TestLongRequestTextKeepsTheExportVerifiable(t *testing.T) {
	signer, verifier := auditKeys(t)
	e := secEnv(t)
	a, err := newAuditor("carnot audit census", signer)
	if err != nil {
		t.Fatal(err)
	}
	e.s.audit = a
	job := func(class string) map[string]any {
		return map[string]any{"tenant": "a", "gpus": 8, "replicas": 1, "command": []string{"x"}, "priority_class": class, "checkpoint_grace": "60s"}
	}
	victim := e.submit(job("low"))
	e.pass()
	e.report("n1", running(victim, 0, 1))
	e.submit(job("high"))
	e.pass()
	if j := e.job(victim); j.State != api.StatePreempting {
		t.Fatalf("victim %s; the test needs it preempted", j.State)
	}
	// a note is at most 1 KiB (checkpoint_repeat_test.go): a longer one
	// is refused, one at the bound kept
	member := withBearer(tokenFor(t, e.s, "member", "a"))
	if code, body := rawWith(e, member, "POST", "/v1/jobs/"+victim+"/checkpoint", []byte(`{"message":"`+strings.Repeat("<", 900<<10)+`"}`)); code != http.StatusBadRequest {
		t.Fatalf("a 900 KiB checkpoint note: %d %.200s", code, body)
	}
	if code, body := rawWith(e, member, "POST", "/v1/jobs/"+victim+"/checkpoint", []byte(`{"message":"`+strings.Repeat("<", maxAckNote)+`"}`)); code != http.StatusAccepted {
		t.Fatalf("checkpoint: %d %.200s", code, body)
	}
	site := strings.Repeat("<", 300<<10)
	reg := []byte(`{"name":"n1","site":"` + site + `","cpus":1,"memory_gib":1}`)
	if code, _ := rawWith(e, withNodeCert(t, "x", "n1"), "POST", "/v1/agent/register", reg); code != http.StatusForbidden {
		t.Errorf("a registration claiming another site: %d, want 403", code)
	}
	w := e.raw("GET", "/v1/audit/export", nil)
	if _, err := audit.Verify(bytes.NewReader(w.Body.Bytes()), verifier, nil); err != nil {
		t.Errorf("the server's own export does not verify: %v", err)
	}
	if !strings.Contains(w.Body.String(), `\u003c\u003c…`) {
		t.Error("the export holds no clipped message; the test did not reach the bound")
	}
}

// A replica the server declares lost with its silent node is the
// server's own event in the audit log (actor api, audit.md), not an
// agent's with no name.
func TestSilentNodeLossIsTheServersInTheAuditLog(t *testing.T) {
	e := secEnv(t)
	id := e.submit(map[string]any{"tenant": "a", "gpus": 1, "replicas": 1, "command": []string{"x"}})
	e.pass()
	e.report("n1", running(id, 0, 1))
	e.clock.add(time.Minute)
	e.pass()
	w := e.raw("GET", "/v1/audit/export", nil)
	found := false
	for _, l := range strings.Split(w.Body.String(), "\n") {
		if strings.Contains(l, `lost: its node stopped reporting`) && strings.Contains(l, `"action":"replica"`) {
			found = true
			if !strings.Contains(l, `"actor":"api"`) {
				t.Errorf("entry %s; want actor api", l)
			}
		}
	}
	if !found {
		t.Fatal("no audit entry of the replica lost; the test needs one")
	}
}

// A token of a tenant the facility no longer has (its file changed and
// the server restarted) holds no more: it reads nothing and seals no
// secret for a tenant the facility does not know; an operator's still
// works.
func TestTokenOfARemovedTenantHoldsNoMore(t *testing.T) {
	e := secEnv(t)
	member := tokenFor(t, e.s, "member", "b")
	admin := tokenFor(t, e.s, "tenant-admin", "b")
	op := tokenFor(t, e.s, "operator", "")
	fac := twoSitesAB()
	fac.Tenants = slices.DeleteFunc(fac.Tenants, func(tn model.Tenant) bool { return tn.Name == "b" })
	e.s.store.Close()
	e = openEnv(t, e.dir, fac, true, e.clock)
	e.s.cfg.Secrets = testSecretsKey(t)
	for _, c := range []struct{ tok, method, path, body string }{
		{member, "GET", "/v1/whoami", ""},
		{member, "GET", "/v1/jobs", ""},
		{admin, "PUT", "/v1/secrets/s1", `{"value":"v"}`},
	} {
		code, out := rawWith(e, withBearer(c.tok), c.method, c.path, []byte(c.body))
		if code != http.StatusUnauthorized || !strings.Contains(string(out), "tenant b, which the facility no longer has") {
			t.Errorf("%s %s with a token of removed tenant b: %d %.200s; want 401 saying why", c.method, c.path, code, out)
		}
	}
	if code, out := rawWith(e, withBearer(op), "GET", "/v1/jobs", nil); code != http.StatusOK {
		t.Errorf("an operator's token: %d %.200s", code, out)
	}
}
