package server

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// putFailingStore fails PutRecords, as a database that went away does.
type putFailingStore struct{ store.Store }

func (putFailingStore) PutRecords(context.Context, []store.Record, []api.Event) error {
	return errors.New("connection refused")
}

// A token request that is wrong names its field, as every other
// refusal does (a script reads errors[].field), and a token the store
// could not save is 503, to retry, not 400 as if the request were wrong.
func TestTokenRequestErrorsNameTheirField(t *testing.T) {
	e := secEnv(t)
	for _, c := range []struct {
		body  api.TokenRequest
		field string
	}{
		{api.TokenRequest{Name: "x", Role: "viewer", TTLSeconds: -5}, "ttl_seconds"},
		{api.TokenRequest{Name: "", Role: "viewer"}, "name"},
		{api.TokenRequest{Name: "x", Role: "boss"}, "role"},
		{api.TokenRequest{Name: "x", Role: "operator", Tenant: "a"}, "tenant"},
		{api.TokenRequest{Name: "x", Role: "member"}, "tenant"},
		{api.TokenRequest{Name: "x", Role: "member", Tenant: "nobody"}, "tenant"},
		{api.TokenRequest{Name: "x", Role: "join"}, "site"},
		{api.TokenRequest{Name: "x", Role: "join", Site: "nowhere"}, "site"},
		{api.TokenRequest{Name: "x", Role: "viewer", Site: "x"}, "site"},
	} {
		var p api.Problem
		if code := e.do("POST", "/v1/tokens", c.body, &p); code != http.StatusBadRequest || len(p.Errors) != 1 || p.Errors[0].Field != c.field || p.Errors[0].Message == "" {
			t.Errorf("token %+v: %d %+v; want 400 naming %s", c.body, code, p, c.field)
		}
	}
	e.s.store = putFailingStore{e.s.store}
	var p api.Problem
	if code := e.do("POST", "/v1/tokens", api.TokenRequest{Name: "x", Role: "viewer"}, &p); code != http.StatusServiceUnavailable {
		t.Errorf("a token the store cannot save: %d %+v; want 503", code, p)
	}
}
