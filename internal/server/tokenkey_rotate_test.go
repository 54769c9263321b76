package server

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// A deliberate rotation: the server starts with a new token key and the
// previous one among PreviousTokenKeys. The previous key's tokens still
// authenticate (a tenant-admin's token still mints, and what it minted
// under the new key holds through it), new tokens are made under the
// new key, the start is no key change (no bootstrap token is due) but an
// audited rotation. Once the previous key is dropped, its tokens, and
// the tokens minted through them, stop; the new key's hold.
func TestTokenKeyRotation(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	ctx := context.Background()
	oldKey, newKey := testTokenKey, bytes.Repeat([]byte{9}, 32)
	e := openEnv(t, dir, DevFacility("local", "FR"), true, clk)
	admin, err := e.s.MintToken(ctx, api.TokenRequest{Name: "admin", Role: "operator-admin"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	ta, err := e.s.MintToken(ctx, api.TokenRequest{Name: "ta", Role: "tenant-admin", Tenant: "default"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	var before api.TokenList
	e.do("GET", "/v1/tokens", nil, &before)
	old := map[string]bool{}
	for _, tok := range before.Tokens {
		old[tok.ID] = true
	}
	e.s.store.Close()

	e2 := openEnv(t, dir, DevFacility("local", "FR"), true, clk, func(c *Config) {
		c.TokenKey, c.PreviousTokenKeys = newKey, [][]byte{oldKey}
	})
	if prev := e2.s.TokenKeyChangedFrom(); prev != "" {
		t.Errorf("a rotation reports a key change from %q: it would print a bootstrap token", prev)
	}
	if _, ok := e2.s.Authenticates(ctx, admin.Secret); !ok {
		t.Fatal("the previous key's operator-admin token does not authenticate during the rotation")
	}
	var child api.Token
	minted := whoMints(t, e2, ta.Secret, api.TokenRequest{Name: "child", Role: "member"}, &child)
	if minted != 201 {
		t.Fatalf("the previous key's tenant-admin minting during the rotation: %d", minted)
	}
	if _, ok := e2.s.Authenticates(ctx, child.Secret); !ok {
		t.Error("a token minted during the rotation does not authenticate")
	}
	rec, err := e2.s.token(ctx, child.ID)
	if err != nil || rec == nil || rec.Key != e2.s.TokenKeyID() {
		t.Errorf("the token minted during the rotation is %+v (%v), want one of the new key %s", rec, err, e2.s.TokenKeyID())
	}
	var list api.TokenList
	e2.do("GET", "/v1/tokens", nil, &list)
	for _, tok := range list.Tokens {
		if tok.OtherKey {
			t.Errorf("during the rotation, token %s (%s) is listed as of another key", tok.ID, tok.Name)
		}
		if tok.PreviousKey != old[tok.ID] {
			t.Errorf("during the rotation, token %s (%s) is listed with previous_key %v, want %v", tok.ID, tok.Name, tok.PreviousKey, old[tok.ID])
		}
	}
	evs, err := e2.s.store.Events(ctx, store.EventFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	rotated := false
	for _, ev := range evs {
		rotated = rotated || ev.Type == EventToken && ev.Actor == "server:token-key" && strings.Contains(ev.Message, "token key rotated")
		if strings.Contains(ev.Message, "token key changed") {
			t.Errorf("a rotation is recorded as a change: %s", ev.Message)
		}
	}
	if !rotated {
		t.Error("no event records the rotation")
	}
	fresh, err := e2.s.MintToken(ctx, api.TokenRequest{Name: "admin2", Role: "operator-admin"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	e2.s.store.Close()

	// The previous key dropped: its tokens stop, and what they minted.
	e3 := openEnv(t, dir, DevFacility("local", "FR"), true, clk, func(c *Config) { c.TokenKey = newKey })
	if prev := e3.s.TokenKeyChangedFrom(); prev != "" {
		t.Errorf("dropping the previous key reports a key change from %q", prev)
	}
	for name, tok := range map[string]string{"operator-admin": admin.Secret, "tenant-admin": ta.Secret} {
		r := httptest.NewRequest("GET", "/v1/whoami", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		e3.s.Handler().ServeHTTP(w, r)
		if w.Code != 401 || !strings.Contains(w.Body.String(), "previous token key") {
			t.Errorf("the dropped key's %s token: %d %s; want 401", name, w.Code, w.Body)
		}
	}
	if _, ok := e3.s.Authenticates(ctx, child.Secret); ok {
		t.Error("a token minted through a token of the dropped key still authenticates")
	}
	if _, ok := e3.s.Authenticates(ctx, fresh.Secret); !ok {
		t.Error("the new key's operator-admin token does not authenticate once the previous key is dropped")
	}
}

// whoMints has the token text create req, decoding the answer into out,
// and returns the status.
func whoMints(t *testing.T, e *env, text string, req api.TokenRequest, out *api.Token) int {
	t.Helper()
	code, _ := e.doWith(withBearer(text), "POST", "/v1/tokens", req, out)
	return code
}
