package server

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// A tenant-scoped caller submitting for another tenant, existing or not,
// gets the same 403 and learns nothing of the facility's other tenants:
// not their names (the loader's "unknown tenant" lists them), nor
// whether one exists, nor what the loader would say of a job of theirs
// (their priority classes, their jurisdictions). The refusal is recorded
// under the caller's tenant, not shown to the other.
func TestSubmitForAnotherTenantRevealsNothing(t *testing.T) {
	e := secEnv(t)
	mem := withBearer(tokenFor(t, e.s, "member", "a"))
	for _, body := range []map[string]any{
		jobOf("nosuch"),
		jobOf("b"),
		spec(1, 1, "tenant", "b", "priority_class", "nosuch"),
		spec(1, 1, "tenant", "b", "jurisdictions", []string{"US"}),
	} {
		code, b := e.doWith(mem, "POST", "/v1/jobs", body, nil)
		if code != http.StatusForbidden {
			t.Errorf("a member of a submitting %v: %d %s, want 403", body, code, b)
		}
		for _, other := range []string{"default", "tenant b", "b,", ", b"} {
			if strings.Contains(string(b), other) {
				t.Errorf("a member of a submitting %v is told %q: %s", body, other, b)
			}
		}
	}
	var evs api.EventList
	e.doWith(withBearer(tokenFor(t, e.s, "member", "b")), "GET", "/v1/events", nil, &evs)
	for _, ev := range evs.Events {
		if strings.Contains(ev.Actor, "member-a") {
			t.Errorf("b's events show a's refused submission: %+v", ev)
		}
	}
}

// A job without a tenant is the caller's tenant's; for a caller bound to
// no tenant (an operator-admin, carnot dev's token) it is the facility's
// tenant "default" when there is one, else it is required, with the
// facility's tenants to choose from.
func TestSubmitWithoutTenant(t *testing.T) {
	body := spec(1, 1)
	delete(body, "tenant")
	e := secEnv(t) // tenants default, a and b
	for _, tc := range []struct{ role, tenant, want string }{
		{"operator-admin", "", "default"},
		{"member", "a", "a"},
		{"tenant-admin", "b", "b"},
	} {
		var j api.Job
		code, b := e.doWith(withBearer(tokenFor(t, e.s, tc.role, tc.tenant)), "POST", "/v1/jobs", body, &j)
		if code != http.StatusCreated || j.Tenant != tc.want {
			t.Errorf("%s %s: %d %s, want 201 and tenant %s", tc.role, tc.tenant, code, b, tc.want)
		}
	}

	fac := DevFacility("x", "FR")
	fac.Tenants = []model.Tenant{{Name: "lab-a", FairShareWeight: 1}}
	e = newEnv(t, fac, true)
	var p api.Problem
	code := e.do("POST", "/v1/jobs", body, &p)
	want := api.FieldError{Field: "tenant", Message: `is required: the token is bound to no tenant and the facility has no tenant "default"; ` +
		`name the job's tenant (carnot run --tenant T), one of lab-a`}
	if code != http.StatusBadRequest || !slices.Contains(p.Errors, want) {
		t.Errorf("without a tenant default: %d %+v, want 400 and %+v", code, p, want)
	}
}
