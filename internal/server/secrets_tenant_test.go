package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// An operator's secrets request for a tenant the facility does not have
// is refused with 400 naming the tenant, and stores nothing.
func TestSecretsOfAnUnknownTenantAreRefused(t *testing.T) {
	e := secEnv(t)
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"PUT", "/v1/secrets/s1", api.SecretValue{Tenant: "nosuch", Value: "v"}},
		{"GET", "/v1/secrets?tenant=nosuch", nil},
		{"DELETE", "/v1/secrets/s1?tenant=nosuch", nil},
	} {
		var p api.Problem
		code := e.do(c.method, c.path, c.body, &p)
		if code != http.StatusBadRequest || len(p.Errors) != 1 || p.Errors[0].Field != "tenant" || !strings.Contains(p.Errors[0].Message, `"nosuch"`) {
			t.Errorf("%s %s: %d %+v; want 400 naming the field tenant and the tenant nosuch", c.method, c.path, code, p)
		}
	}
	recs, err := e.s.store.Records(t.Context(), recSecret)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 0 {
		t.Errorf("stored secrets %v; want none", recs)
	}
	// A tenant of the facility is served as before.
	if code := e.do("PUT", "/v1/secrets/s1", api.SecretValue{Tenant: "a", Value: "v"}, nil); code != http.StatusOK {
		t.Errorf("PUT a secret of tenant a: %d", code)
	}
}
