package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// A token a tenant-admin mints never outlives it: its expiry is clamped
// to its creator's, asked for or not, and revoking the creator revokes
// every token it minted, and theirs.
func TestDelegatedTokensDoNotOutliveTheirCreator(t *testing.T) {
	e := secEnv(t)
	ctx := context.Background()
	ta, err := e.s.MintToken(ctx, api.TokenRequest{Name: "ta", Role: "tenant-admin", Tenant: "a", TTLSeconds: 3600}, "test")
	if err != nil {
		t.Fatal(err)
	}
	mint := func(by string, req api.TokenRequest) api.Token {
		t.Helper()
		var tok api.Token
		if code, body := e.doWith(withBearer(by), "POST", "/v1/tokens", req, &tok); code != 201 {
			t.Fatalf("minting %+v: %d %s", req, code, body)
		}
		return tok
	}
	long := mint(ta.Secret, api.TokenRequest{Name: "long", Role: "member", Tenant: "a", TTLSeconds: 48 * 3600})
	forever := mint(ta.Secret, api.TokenRequest{Name: "forever", Role: "member", Tenant: "a"})
	short := mint(ta.Secret, api.TokenRequest{Name: "short", Role: "member", Tenant: "a", TTLSeconds: 60})
	for _, tok := range []api.Token{long, forever} {
		if tok.Expires == nil || !tok.Expires.Equal(*ta.Expires) {
			t.Errorf("token %s minted by a tenant-admin expiring at %s expires at %v, want its creator's expiry", tok.Name, ta.Expires, tok.Expires)
		}
	}
	if short.Expires == nil || !short.Expires.Equal(short.Created.Add(time.Minute)) {
		t.Errorf("a token asking for less than its creator's life expires at %v, want %s", short.Expires, short.Created.Add(time.Minute))
	}

	// A chain: ta → ta2 → m2. Revoking ta revokes both.
	ta2 := mint(ta.Secret, api.TokenRequest{Name: "ta2", Role: "tenant-admin", Tenant: "a"})
	m2 := mint(ta2.Secret, api.TokenRequest{Name: "m2", Role: "member", Tenant: "a"})
	if _, ok := e.s.Authenticates(ctx, m2.Secret); !ok {
		t.Fatal("the chain's last token does not authenticate")
	}
	if code, body := e.doWith(withBearer(tokenFor(t, e.s, "operator-admin", "")), "POST", "/v1/tokens/"+ta.ID+"/revoke", nil, nil); code != 200 {
		t.Fatalf("revoking ta: %d %s", code, body)
	}
	for _, tok := range []api.Token{long, forever, short, ta2, m2} {
		if _, ok := e.s.Authenticates(ctx, tok.Secret); ok {
			t.Errorf("token %s, minted (through a chain) by the revoked ta, still authenticates", tok.Name)
		}
	}
	var list api.TokenList
	e.doWith(withBearer(tokenFor(t, e.s, "operator-admin", "")), "GET", "/v1/tokens", nil, &list)
	for _, tok := range list.Tokens {
		if (tok.Name == "ta2" || tok.Name == "m2") && tok.Revoked == nil {
			t.Errorf("the list shows %s, whose creator was revoked, as not revoked", tok.Name)
		}
	}

	// What an operator-admin mints stands on its own: the bootstrap
	// token is revoked once the operators made their own.
	boot, _ := e.s.MintToken(ctx, api.TokenRequest{Name: "bootstrap", Role: "operator-admin"}, "server:bootstrap")
	own := mint(boot.Secret, api.TokenRequest{Name: "alice", Role: "operator-admin"})
	if code, body := e.doWith(withBearer(own.Secret), "POST", "/v1/tokens/"+boot.ID+"/revoke", nil, nil); code != 200 {
		t.Fatalf("revoking bootstrap: %d %s", code, body)
	}
	if _, ok := e.s.Authenticates(ctx, own.Secret); !ok {
		t.Errorf("an operator-admin token stops with the revoked operator-admin token that minted it")
	}
}

// A tenant-admin token past its expiry mints nothing, and what it minted
// stops with it.
func TestDelegatedTokenExpiresWithItsCreator(t *testing.T) {
	e := secEnv(t)
	ctx := context.Background()
	ta, err := e.s.MintToken(ctx, api.TokenRequest{Name: "ta", Role: "tenant-admin", Tenant: "a", TTLSeconds: 60}, "test")
	if err != nil {
		t.Fatal(err)
	}
	var m api.Token
	if code, body := e.doWith(withBearer(ta.Secret), "POST", "/v1/tokens", api.TokenRequest{Name: "m", Role: "member", Tenant: "a"}, &m); code != 201 {
		t.Fatalf("minting: %d %s", code, body)
	}
	e.clock.add(time.Minute)
	if _, ok := e.s.Authenticates(ctx, m.Secret); ok {
		t.Errorf("a token minted by a tenant-admin authenticates after its creator expired")
	}
}

// One unreadable token record does not keep another token from being
// revoked: revocation reads every token to find those minted through
// the revoked one.
func TestRevocationDespiteAnUnreadableTokenRecord(t *testing.T) {
	e := secEnv(t)
	ctx := context.Background()
	m, err := e.s.MintToken(ctx, api.TokenRequest{Name: "m", Role: "member", Tenant: "a"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	bad := store.Record{Kind: recToken, Key: "ffffffffffffffff", Doc: []byte(`{"id": 5}`)}
	if err := e.s.store.PutRecords(ctx, []store.Record{bad}, nil); err != nil {
		t.Fatal(err)
	}
	if code, body := e.doWith(withBearer(tokenFor(t, e.s, "operator-admin", "")), "POST", "/v1/tokens/"+m.ID+"/revoke", nil, nil); code != 200 {
		t.Fatalf("revoking m beside an unreadable token record: %d %s", code, body)
	}
	if _, ok := e.s.Authenticates(ctx, m.Secret); ok {
		t.Errorf("the revoked token still authenticates")
	}
}

// One unreadable token record neither stops a start (HasOperatorAdmin,
// which the bootstrap asks) nor the token list: it authenticates nothing
// and is logged.
func TestUnreadableTokenRecordIsSkipped(t *testing.T) {
	e := secEnv(t)
	ctx := context.Background()
	bad := store.Record{Kind: recToken, Key: "ffffffffffffffff", Doc: []byte(`{"id": 5}`)}
	if err := e.s.store.PutRecords(ctx, []store.Record{bad}, nil); err != nil {
		t.Fatal(err)
	}
	if has, err := e.s.HasOperatorAdmin(ctx); err != nil || !has {
		t.Errorf("HasOperatorAdmin beside an unreadable token record = %v, %v; want true", has, err)
	}
	var list api.TokenList
	if code, body := e.doWith(withBearer(tokenFor(t, e.s, "operator-admin", "")), "GET", "/v1/tokens", nil, &list); code != 200 || len(list.Tokens) == 0 {
		t.Errorf("listing tokens beside an unreadable token record: %d %s", code, body)
	}
}

// A chain of tenant-admin tokens deeper than a token may hold through is
// refused at the creation, with a clear error, instead of minting a
// token that never authenticates.
func TestDelegationChainTooDeepIsRefused(t *testing.T) {
	e := secEnv(t)
	by := tokenFor(t, e.s, "tenant-admin", "a")
	for i := range maxChain + 1 {
		var tok api.Token
		code, body := e.doWith(withBearer(by), "POST", "/v1/tokens", api.TokenRequest{Name: "ta", Role: "tenant-admin", Tenant: "a"}, &tok)
		if code == 400 && i == maxChain && strings.Contains(string(body), "chain") {
			return
		}
		if code != 201 {
			t.Fatalf("link %d of the chain: %d %s", i+1, code, body)
		}
		if _, ok := e.s.Authenticates(context.Background(), tok.Secret); !ok {
			t.Fatalf("link %d of the chain was minted but does not authenticate", i+1)
		}
		by = tok.Secret
	}
	t.Errorf("a chain of %d tokens was minted", maxChain+1)
}
