package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// A server started with another token key than the last one says so,
// records it in the audit log, and counts the operator-admin tokens made
// under the previous key as none: its start prints a bootstrap token
// again, instead of leaving the operators locked out. The old tokens do
// not come back.
func TestTokenKeyChangeAllowsABootstrapToken(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	e := openEnv(t, dir, DevFacility("local", "FR"), true, clk)
	ctx := context.Background()
	old := tokenFor(t, e.s, "operator-admin", "")
	if has, err := e.s.HasOperatorAdmin(ctx); err != nil || !has {
		t.Fatalf("HasOperatorAdmin under the first key = %v, %v; want true", has, err)
	}
	if prev := e.s.TokenKeyChangedFrom(); prev != "" {
		t.Errorf("the first start reports a key change from %q", prev)
	}

	// The same key again: nothing changed.
	e.s.store.Close()
	e2 := openEnv(t, dir, DevFacility("local", "FR"), true, clk)
	if prev := e2.s.TokenKeyChangedFrom(); prev != "" {
		t.Errorf("a restart with the same key reports a change from %q", prev)
	}

	e2.s.store.Close()
	newKey := bytes.Repeat([]byte{9}, 32)
	e3 := openEnv(t, dir, DevFacility("local", "FR"), true, clk, func(c *Config) { c.TokenKey = newKey })
	if prev := e3.s.TokenKeyChangedFrom(); prev == "" || prev == e3.s.hasher.KeyID() {
		t.Errorf("a start with another key reports a change from %q (key now %s), want the previous key's ID", prev, e3.s.hasher.KeyID())
	}
	// envOf minted an operator-admin token under the new key: it is
	// revoked below, as a real start would not have it.
	fresh := tokenFor(t, e3.s, "operator-admin", "")
	if _, ok := e3.s.Authenticates(ctx, old); ok {
		t.Errorf("a token made under the previous key authenticates under the new one")
	}
	r := httptest.NewRequest("GET", "/v1/whoami", nil)
	r.Header.Set("Authorization", "Bearer "+old)
	w := httptest.NewRecorder()
	e3.s.Handler().ServeHTTP(w, r)
	if w.Code != 401 || !strings.Contains(w.Body.String(), "previous token key") {
		t.Errorf("a token of the previous key: %d %s; want 401 saying the key changed", w.Code, w.Body)
	}
	if _, ok := e3.s.Authenticates(ctx, fresh); !ok {
		t.Fatalf("a token made under the new key does not authenticate")
	}
	revokeBySecret(t, e3, fresh)
	if has, err := e3.s.HasOperatorAdmin(ctx); err != nil || has {
		t.Errorf("HasOperatorAdmin after the key changed = %v, %v; want false: the old key's tokens do not open", has, err)
	}
	evs, err := e3.s.store.Events(ctx, store.EventFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, ev := range evs {
		if ev.Type == EventToken && strings.Contains(ev.Message, "token key changed") {
			found++
			if ev.Actor != "server:token-key" {
				t.Errorf("the key change's actor is %q, want server:token-key", ev.Actor)
			}
		}
	}
	if found != 1 {
		t.Errorf("%d events record the key change, want 1", found)
	}

	// A restart under the new key: no new change, and the old tokens
	// still count for nothing.
	e3.s.store.Close()
	e4 := openEnv(t, dir, DevFacility("local", "FR"), true, clk, func(c *Config) { c.TokenKey = newKey })
	if prev := e4.s.TokenKeyChangedFrom(); prev != "" {
		t.Errorf("a second start with the new key reports a change from %q", prev)
	}
	revokeBySecret(t, e4, tokenFor(t, e4.s, "operator-admin", ""))
	if has, _ := e4.s.HasOperatorAdmin(ctx); has {
		t.Errorf("HasOperatorAdmin at the second start under the new key = true; the old key's tokens count again")
	}
}

// revokeBySecret revokes the token whose secret is secret.
func revokeBySecret(t *testing.T, e *env, secret string) {
	t.Helper()
	w := e.raw("POST", "/v1/tokens/"+secret+"/revoke", nil)
	if w.Code != 200 {
		t.Fatalf("revoking: %d %s", w.Code, w.Body)
	}
}

// After the token key changed, the token list marks the previous key's
// tokens: they would look as if they held, and do not.
func TestTokenListMarksTokensOfAnotherKey(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	e := openEnv(t, dir, DevFacility("local", "FR"), true, clk)
	old, err := e.s.MintToken(context.Background(), api.TokenRequest{Name: "old", Role: "member", Tenant: "default"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	e.s.store.Close()
	e2 := openEnv(t, dir, DevFacility("local", "FR"), true, clk, func(c *Config) { c.TokenKey = bytes.Repeat([]byte{9}, 32) })
	fresh, err := e2.s.MintToken(context.Background(), api.TokenRequest{Name: "fresh", Role: "member", Tenant: "default"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	var list api.TokenList
	if code := e2.do("GET", "/v1/tokens", nil, &list); code != 200 {
		t.Fatalf("listing: %d", code)
	}
	seen := 0
	for _, tok := range list.Tokens {
		switch tok.ID {
		case old.ID:
			seen++
			if !tok.OtherKey {
				t.Errorf("the previous key's token is listed without other_key: %+v", tok)
			}
		case fresh.ID:
			seen++
			if tok.OtherKey {
				t.Errorf("the new key's token is listed with other_key: %+v", tok)
			}
		}
	}
	if seen != 2 {
		t.Errorf("%d of the 2 tokens listed", seen)
	}
}

// A database from before token records named their key: its tokens are
// taken to be of the key of the first start that records one, and so
// still authenticate; a later key change stops them like the others.
func TestTokensFromBeforeKeyIDs(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	e := openEnv(t, dir, DevFacility("local", "FR"), true, clk)
	ctx := context.Background()
	old, err := e.s.MintToken(ctx, api.TokenRequest{Name: "old", Role: "operator-admin"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	// Make the store look as an earlier version left it.
	var recs []store.Record
	all, err := e.s.store.Records(ctx, recToken)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range all {
		var m map[string]any
		if err := json.Unmarshal(rec.Doc, &m); err != nil {
			t.Fatal(err)
		}
		delete(m, "key")
		rec.Doc, _ = json.Marshal(m)
		recs = append(recs, rec)
	}
	recs = append(recs, store.Record{Kind: recTokenKey, Key: "current"}) // deleted
	if err := e.s.store.PutRecords(ctx, recs, nil); err != nil {
		t.Fatal(err)
	}
	e.s.store.Close()

	e2 := openEnv(t, dir, DevFacility("local", "FR"), true, clk)
	if prev := e2.s.TokenKeyChangedFrom(); prev != "" {
		t.Errorf("the first start that records the key reports a change from %q", prev)
	}
	if _, ok := e2.s.Authenticates(ctx, old.Secret); !ok {
		t.Errorf("a token from before key IDs no longer authenticates under its key")
	}
	e2.s.store.Close()

	e3 := openEnv(t, dir, DevFacility("local", "FR"), true, clk, func(c *Config) { c.TokenKey = bytes.Repeat([]byte{9}, 32) })
	if e3.s.TokenKeyChangedFrom() == "" {
		t.Errorf("a start with another key reports no change")
	}
	revokeBySecret(t, e3, tokenFor(t, e3.s, "operator-admin", ""))
	if has, _ := e3.s.HasOperatorAdmin(ctx); has {
		t.Errorf("an operator-admin token from before key IDs counts under another key")
	}
}
