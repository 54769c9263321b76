package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// A facility-wide caller's filter on a tenant the facility does not have
// (a misspelt name) is refused with 400 naming the tenant, on every route
// that filters by tenant, instead of an empty answer that reads as "no
// job"; a tenant's own token asking for any other tenant gets the 403 it
// got before, whether that tenant exists or not, so that it learns
// nothing of the facility's tenants.
func TestUnknownTenantFilterIsRefused(t *testing.T) {
	e := secEnv(t)
	e.submit(jobOf("a"))
	for _, path := range []string{"/v1/jobs?tenant=nobody", "/v1/deployments?tenant=nobody",
		"/v1/audit/entries?tenant=nobody", "/v1/watch?tenant=nobody"} {
		ctx, cancel := context.WithCancel(context.Background())
		req := asAdmin(t, e.s, httptest.NewRequest("GET", path, nil).WithContext(ctx))
		w := &endOnAnswer{httptest.NewRecorder(), cancel}
		e.s.Handler().ServeHTTP(w, req)
		checkDocumented(t, e.s.mux, req, w.Code)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `\"nobody\"`) ||
			!strings.Contains(w.Body.String(), `"field":"tenant"`) {
			t.Errorf("GET %s as an operator: %d %s; want 400 naming the field tenant and nobody", path, w.Code, w.Body)
		}
		// the answer for b, a tenant that exists, with nobody for b
		mem := withBearer(tokenFor(t, e.s, "member", "a"))
		code, body := e.doWith(mem, "GET", path, nil, nil)
		_, forB := e.doWith(mem, "GET", strings.Replace(path, "nobody", "b", 1), nil, nil)
		if code != http.StatusForbidden || string(body) != strings.ReplaceAll(string(forB), "tenant b", "tenant nobody") {
			t.Errorf("GET %s as a user of tenant a: %d %s; want 403 that does not say whether nobody exists, as for b: %s", path, code, body, forB)
		}
	}
	var list api.JobList
	if code := e.do("GET", "/v1/jobs?tenant=a", nil, &list); code != http.StatusOK || len(list.Jobs) != 1 {
		t.Errorf("GET /v1/jobs?tenant=a: %d, %d jobs; want 200 with a's job", code, len(list.Jobs))
	}
	if code := e.do("GET", "/v1/jobs?tenant=b", nil, &list); code != http.StatusOK || len(list.Jobs) != 0 {
		t.Errorf("GET /v1/jobs?tenant=b: %d, %d jobs; want 200, none", code, len(list.Jobs))
	}
}

// A tenant removed from the facility file keeps its history: its jobs
// are still listed by its name.
func TestRemovedTenantsJobsAreListed(t *testing.T) {
	e := newEnv(t, withTenant(true), true)
	if code := e.register("n1", "local", 8); code != http.StatusOK {
		t.Fatalf("register n1: %d", code)
	}
	id := e.submit(spec(1, 1, "tenant", "acme"))
	e.s.store.Close()
	e = openEnv(t, e.dir, withTenant(false), true, e.clock)
	var list api.JobList
	if code := e.do("GET", "/v1/jobs?tenant=acme", nil, &list); code != http.StatusOK || len(list.Jobs) != 1 || list.Jobs[0].ID != id {
		t.Errorf("GET /v1/jobs?tenant=acme after acme left the facility: %d %+v; want its job", code, list)
	}
}

// endOnAnswer is a recorder that ends its request once the status is
// written: a stream answered 200 ends then.
type endOnAnswer struct {
	*httptest.ResponseRecorder
	cancel func()
}

func (w *endOnAnswer) WriteHeader(code int) {
	w.ResponseRecorder.WriteHeader(code)
	w.cancel()
}

// A priority_class filter naming a class the facility does not have, and
// no stored job is of, is refused with 400 naming the class, for every
// caller (the classes are the facility's, named in every refused
// submission), instead of an empty list that reads as "no such job".
func TestUnknownPriorityClassFilterIsRefused(t *testing.T) {
	e := secEnv(t)
	e.submit(jobOf("a"))
	for _, cred := range []func(*http.Request) *http.Request{
		withBearer(tokenFor(t, e.s, "operator-admin", "")), withBearer(tokenFor(t, e.s, "member", "a")),
	} {
		for _, path := range []string{"/v1/jobs?priority_class=urgent", "/v1/deployments?priority_class=urgent"} {
			code, body := e.doWith(cred, "GET", path, nil, nil)
			if code != http.StatusBadRequest || !strings.Contains(string(body), `"field":"priority_class"`) || !strings.Contains(string(body), `\"urgent\"`) {
				t.Errorf("GET %s: %d %s; want 400 naming priority_class and urgent", path, code, body)
			}
		}
		var list api.JobList
		if code, _ := e.doWith(cred, "GET", "/v1/jobs?priority_class=normal", nil, &list); code != http.StatusOK || len(list.Jobs) != 1 {
			t.Errorf("GET /v1/jobs?priority_class=normal: %d, %d jobs; want a's job", code, len(list.Jobs))
		}
	}
}

// Audit entries asked for a job that does not exist (a misspelt ID) are
// refused with 404, as the job itself is, instead of an empty list that
// reads as "nothing was recorded of it"; so are those of another
// tenant's job, for a token of one tenant, so that it learns nothing.
func TestAuditEntriesOfAnUnknownJobAre404(t *testing.T) {
	e := secEnv(t)
	ja, jb := e.submit(jobOf("a")), e.submit(jobOf("b"))
	admin, member := withBearer(tokenFor(t, e.s, "operator-admin", "")), withBearer(tokenFor(t, e.s, "member", "a"))
	for _, c := range []struct {
		cred func(*http.Request) *http.Request
		job  string
		code int
	}{{admin, "j-nosuch", 404}, {member, "j-nosuch", 404}, {member, jb, 404}, {member, ja, 200}, {admin, jb, 200}} {
		var out api.AuditEntries
		code, body := e.doWith(c.cred, "GET", "/v1/audit/entries?job="+c.job, nil, &out)
		if code != c.code || code == 404 && !strings.Contains(string(body), c.job) || code == 200 && len(out.Entries) == 0 {
			t.Errorf("audit entries of %s: %d %s; want %d", c.job, code, body, c.code)
		}
	}
}

// A token of one tenant asking for another's listing is told what it
// tried, as other refusals say it, not "token:NAME/ID sees tenant a
// only" in the server's own form of its name.
func TestOtherTenantListingRefusalSaysWhatWasTried(t *testing.T) {
	e := secEnv(t)
	mem := withBearer(tokenFor(t, e.s, "member", "a"))
	for path, want := range map[string]string{
		"/v1/jobs?tenant=b":          "permission denied: a token of tenant a may not list jobs of tenant b",
		"/v1/deployments?tenant=b":   "permission denied: a token of tenant a may not list deployments of tenant b",
		"/v1/audit/entries?tenant=b": "permission denied: a token of tenant a may not read audit entries of tenant b",
		"/v1/watch?tenant=b&after=0": "permission denied: a token of tenant a may not watch events of tenant b",
	} {
		var p api.Problem
		code, body := e.doWith(mem, "GET", path, nil, nil)
		json.Unmarshal(body, &p)
		if code != http.StatusForbidden || p.Detail != want {
			t.Errorf("GET %s as a member of a: %d %q; want 403 %q", path, code, p.Detail, want)
		}
	}
}

// An unknown tenant in a filter is quoted in the answer cut short, as an
// unknown class is: a 10 kB name came back whole in the problem.
func TestUnknownTenantFilterIsQuotedShort(t *testing.T) {
	e := secEnv(t)
	long := strings.Repeat("x", 10000)
	for _, path := range []string{"/v1/jobs?tenant=" + long, "/v1/jobs?priority_class=" + long} {
		w := e.raw("GET", path, nil)
		if w.Code != http.StatusBadRequest || w.Body.Len() > 1000 {
			t.Errorf("GET %s…: %d, %d bytes; want 400 of at most 1000 bytes", path[:30], w.Code, w.Body.Len())
		}
	}
}

// A tenant named in a secrets request, or by a token of another tenant,
// is quoted cut short too.
func TestTenantInRefusalsIsQuotedShort(t *testing.T) {
	e := secEnv(t)
	long := strings.Repeat("x", 10000)
	mem := withBearer(tokenFor(t, e.s, "member", "a"))
	for _, c := range []struct {
		cred func(*http.Request) *http.Request
		path string
	}{
		{withBearer(tokenFor(t, e.s, "operator-admin", "")), "/v1/secrets?tenant=" + long},
		{mem, "/v1/secrets?tenant=" + long},
		{mem, "/v1/jobs?tenant=" + long},
	} {
		code, body := e.doWith(c.cred, "GET", c.path, nil, nil)
		if code/100 != 4 || len(body) > 1000 {
			t.Errorf("GET %s…: %d, %d bytes; want a 4xx of at most 1000 bytes", c.path[:30], code, len(body))
		}
	}
}
