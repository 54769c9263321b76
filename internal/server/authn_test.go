package server

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/auth"
	"github.com/carnot-dc/carnot/internal/store"
)

// Whoever writes the database without the token key cannot widen a
// token: a member token rewritten to operator-admin stops authenticating.
func TestTokenRecordTamperedInTheStore(t *testing.T) {
	e := devEnv(t)
	ctx := context.Background()
	tok, err := e.s.MintToken(ctx, api.TokenRequest{Name: "m", Role: "member", Tenant: "default"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	whoami := func() int { return whoamiCode(e, tok.Secret) }
	if code := whoami(); code != 200 {
		t.Fatalf("the member token: %d", code)
	}
	doc, err := e.s.store.Record(ctx, recToken, tok.ID)
	if err != nil {
		t.Fatal(err)
	}
	var rec auth.Token
	json.Unmarshal(doc, &rec)
	rec.Role, rec.Tenant = auth.OperatorAdmin, ""
	doc, _ = json.Marshal(rec)
	if err := e.s.store.PutRecords(ctx, []store.Record{{Kind: recToken, Key: tok.ID, Doc: doc}}, nil); err != nil {
		t.Fatal(err)
	}
	e.s.forgetToken(tok.ID)
	if code := whoami(); code != 401 {
		t.Errorf("the token rewritten to operator-admin in the store: %d, want 401", code)
	}
}

// whoamiCode is the status of GET /v1/whoami with bearer secret.
func whoamiCode(e *env, secret string) int {
	req := httptest.NewRequest("GET", "/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	w := httptest.NewRecorder()
	e.s.Handler().ServeHTTP(w, req)
	return w.Code
}
