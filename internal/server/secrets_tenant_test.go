package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
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

// recordFailingStore fails Record, as a database that went away does.
type recordFailingStore struct{ store.Store }

func (recordFailingStore) Record(context.Context, string, string) ([]byte, error) {
	return nil, errors.New("connection refused")
}

// Deleting a secret while the store fails is a 503, not a 404 that says
// the secret does not exist.
func TestDeleteSecretStoreFailureIs503(t *testing.T) {
	e := secEnv(t)
	if code := e.do("PUT", "/v1/secrets/s1", api.SecretValue{Tenant: "a", Value: "v"}, nil); code != http.StatusOK {
		t.Fatalf("PUT: %d", code)
	}
	e.s.store = recordFailingStore{e.s.store}
	var p api.Problem
	if code := e.do("DELETE", "/v1/secrets/s1?tenant=a", nil, &p); code != http.StatusServiceUnavailable {
		t.Errorf("DELETE with the store failing: %d %+v; want 503", code, p)
	}
}
