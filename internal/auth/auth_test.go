package auth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

func TestMintParseMatch(t *testing.T) {
	h, err := NewHasher([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	text, id, hash := h.Mint()
	gid, secret, err := Parse(text)
	if err != nil || gid != id {
		t.Fatalf("Parse(%q) = %q, %v; want ID %q", text, gid, err, id)
	}
	if len(secret) != 43 {
		t.Errorf("secret %d characters, want 43 (256 bits)", len(secret))
	}
	if strings.Contains(string(hash), secret) {
		t.Errorf("the hash holds the secret")
	}
	if !h.Match(text, hash) {
		t.Errorf("a minted token does not match its hash")
	}
	other, _, _ := h.Mint()
	if h.Match(other, hash) {
		t.Errorf("another token matches")
	}
	// One character of the secret changed.
	flip := []byte(text)
	flip[len(flip)-2] ^= 1
	if h.Match(string(flip), hash) {
		t.Errorf("a changed secret matches")
	}
	h2, _ := NewHasher([]byte(strings.Repeat("x", 32)))
	if h2.Match(text, hash) {
		t.Errorf("a hash made under another key matches")
	}
	if _, err := NewHasher([]byte("short")); err == nil {
		t.Errorf("a 5-byte key was accepted")
	}
	for _, bad := range []string{"", "carnot_", "carnot_0123456789abcdef", "bearer x", text + "x", strings.ToUpper(text), "carnot_0123456789abcdeg_" + secret} {
		if _, _, err := Parse(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%q) = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestTokenValid(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		tok  Token
		want bool
	}{
		{Token{}, true},
		{Token{Expires: now.Add(time.Second)}, true},
		{Token{Expires: now}, false},
		{Token{Revoked: now.Add(-time.Hour)}, false},
	} {
		if got := c.tok.Valid(now) == nil; got != c.want {
			t.Errorf("%+v valid = %v, want %v", c.tok, got, c.want)
		}
	}
}

func TestCheckGrant(t *testing.T) {
	for _, c := range []struct {
		r            Role
		tenant, site string
		ok           bool
	}{
		{OperatorAdmin, "", "", true},
		{OperatorAdmin, "a", "", false},
		{Operator, "", "", true},
		{TenantAdmin, "a", "", true},
		{TenantAdmin, "", "", false},
		{Member, "", "", false},
		{Viewer, "", "", true},
		{Viewer, "a", "", true},
		{Auditor, "a", "", true},
		{Join, "", "paris", true},
		{Join, "", "", false},
		{Join, "a", "paris", false},
		{Member, "a", "paris", false},
		{Node, "", "", false},
		{"root", "", "", false},
		{Member, "a b", "", false},
	} {
		if err := CheckGrant(c.r, c.tenant, c.site); (err == nil) != c.ok {
			t.Errorf("CheckGrant(%s, %q, %q) = %v, want ok %v", c.r, c.tenant, c.site, err, c.ok)
		}
	}
}

// TestOpsCoverRoutes fails when a route is added without an access rule.
func TestOpsCoverRoutes(t *testing.T) {
	seen := map[string]bool{}
	for _, rt := range api.Routes {
		seen[rt.Op] = true
		if _, ok := Ops[rt.Op]; !ok {
			t.Errorf("%s %s (%s): no access rule in auth.Ops", rt.Method, rt.Path, rt.Op)
		}
	}
	for op := range Ops {
		if !seen[op] {
			t.Errorf("auth.Ops has %q, which is no route", op)
		}
	}
}

func TestAuthorize(t *testing.T) {
	admin := Principal{Role: OperatorAdmin}
	op := Principal{Role: Operator}
	ta := Principal{Role: TenantAdmin, Tenant: "a"}
	mem := Principal{Role: Member, Tenant: "a"}
	view := Principal{Role: Viewer, Tenant: "a"}
	gview := Principal{Role: Viewer}
	aud := Principal{Role: Auditor}
	taud := Principal{Role: Auditor, Tenant: "a"}
	node := Principal{Role: Node, Node: "n1", Site: "paris"}
	join := Principal{Role: Join, Site: "paris"}
	for _, c := range []struct {
		p      Principal
		op     string
		tenant string
		ok     bool
	}{
		{admin, "submitJob", "b", true},
		{admin, "drainNode", "", true},
		{op, "submitJob", "a", false},
		{op, "cancelJob", "a", true},
		{op, "drainNode", "", true},
		{admin, "fenceNode", "", true},
		{admin, "unfenceNode", "", true},
		{op, "fenceNode", "", false},
		{op, "unfenceNode", "", false},
		{mem, "fenceNode", "", false},
		{gview, "fenceNode", "", false},
		{ta, "submitJob", "a", true},
		{ta, "submitJob", "b", false},
		{mem, "getJob", "b", false},
		{mem, "getJob", "a", true},
		{mem, "drainNode", "", false},
		{mem, "listNodes", "", false},
		{view, "submitJob", "a", false},
		{view, "getJob", "a", true},
		{view, "listNodes", "", false},
		{gview, "listNodes", "", true},
		{gview, "getJob", "b", true},
		{gview, "cancelJob", "b", false},
		{aud, "auditExport", "", true},
		{taud, "auditExport", "", false},
		{taud, "auditEntries", "a", true},
		{taud, "auditEntries", "b", false},
		{aud, "getJob", "a", false},
		{mem, "auditExport", "", false},
		{node, "agentHeartbeat", "", true},
		{node, "getJob", "a", false},
		{node, "health", "", true},
		{admin, "agentHeartbeat", "", false},
		{join, "agentEnroll", "", true},
		{join, "agentRegister", "", false},
		{admin, "agentEnroll", "", false},
		{mem, "putSecret", "a", false},
		{ta, "putSecret", "a", true},
		{mem, "listSecrets", "a", true},
		{op, "listSecrets", "a", false},
		{admin, "nosuchop", "", false},
	} {
		err := Authorize(c.p, c.op, c.tenant)
		if (err == nil) != c.ok {
			t.Errorf("Authorize(%+v, %s, %q) = %v, want ok %v", c.p, c.op, c.tenant, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrDenied) {
			t.Errorf("Authorize(%+v, %s): %v does not wrap ErrDenied", c.p, c.op, err)
		}
	}
	if err := Authorize(mem, "getJob", "b"); !errors.Is(err, ErrNotVisible) {
		t.Errorf("another tenant's job: %v, want ErrNotVisible", err)
	}
}

func TestCanGrant(t *testing.T) {
	ta := Principal{Role: TenantAdmin, Tenant: "a"}
	for _, c := range []struct {
		p      Principal
		r      Role
		tenant string
		ok     bool
	}{
		{Principal{Role: OperatorAdmin}, Operator, "", true},
		{ta, Member, "a", true},
		{ta, TenantAdmin, "a", true},
		{ta, Member, "b", false},
		{ta, Operator, "", false},
		{ta, Viewer, "", false},
		{Principal{Role: Member, Tenant: "a"}, Member, "a", false},
		{Principal{Role: Operator}, Viewer, "", false},
	} {
		if err := CanGrant(c.p, c.r, c.tenant); (err == nil) != c.ok {
			t.Errorf("CanGrant(%+v, %s, %q) = %v, want ok %v", c.p, c.r, c.tenant, err, c.ok)
		}
	}
}

func FuzzParse(f *testing.F) {
	h, _ := NewHasher(make([]byte, 32))
	text, _, _ := h.Mint()
	f.Add(text)
	f.Add("carnot_")
	f.Add("carnot_0123456789abcdef_")
	f.Fuzz(func(t *testing.T, s string) {
		id, secret, err := Parse(s)
		if err == nil && "carnot_"+id+"_"+secret != s {
			t.Errorf("Parse(%q) = %q, %q: not the token's parts", s, id, secret)
		}
	})
}

// A token record whose grant was changed without the key (a database
// writer widening it) no longer authenticates.
func TestVerifyBindsTheGrant(t *testing.T) {
	h, _ := NewHasher([]byte(strings.Repeat("k", 32)))
	text, id, _ := h.Mint()
	now := time.Date(2026, 1, 1, 0, 0, 0, 5, time.UTC)
	tok := Token{ID: id, Name: "alice", Role: Member, Tenant: "a", Created: now, Expires: now.Add(time.Hour)}
	var err error
	if tok.Hash, err = h.Sum(text, &tok); err != nil {
		t.Fatal(err)
	}
	if !h.Verify(text, &tok) {
		t.Fatal("the token does not verify")
	}
	for name, change := range map[string]func(*Token){
		"role":    func(t *Token) { t.Role = OperatorAdmin },
		"tenant":  func(t *Token) { t.Tenant = "b" },
		"site":    func(t *Token) { t.Site = "x" },
		"expiry":  func(t *Token) { t.Expires = t.Expires.Add(time.Hour) },
		"no exp":  func(t *Token) { t.Expires = time.Time{} },
		"name":    func(t *Token) { t.Name = "bob" },
		"created": func(t *Token) { t.Created = t.Created.Add(time.Nanosecond) },
		"parent":  func(t *Token) { t.Parent = "0123456789abcdef" },
	} {
		c := tok
		change(&c)
		if h.Verify(text, &c) {
			t.Errorf("a token with its %s changed still verifies", name)
		}
	}
	other, _, _ := h.Mint()
	if h.Verify(other, &tok) {
		t.Errorf("another token's text verifies")
	}
}

// A refusal says what the caller tried in its own words ("may not list
// API and join tokens"), never the operation's internal name ("may not
// listTokens"), for every operation, role and tenant binding.
func TestRefusalsSayWhatWasTried(t *testing.T) {
	roles := append(append([]Role{}, TokenRoles...), Node, Job)
	for _, rt := range api.Routes {
		for _, r := range roles {
			for _, tenant := range []string{"", "a"} {
				err := Authorize(Principal{Role: r, Tenant: tenant}, rt.Op, "")
				if err == nil {
					continue
				}
				camel := strings.ToLower(rt.Op) != rt.Op // "listTokens"; "watch" is a word too
				if camel && strings.Contains(err.Error(), rt.Op) || !strings.Contains(err.Error(), Action(rt.Op)) {
					t.Errorf("%s as %s of tenant %q: %q; want %q, not %s", rt.Op, r, tenant, err, Action(rt.Op), rt.Op)
				}
			}
		}
		if a := Action(rt.Op); a == "" || a == rt.Op {
			t.Errorf("%s: Action %q; want words", rt.Op, a)
		}
	}
	err := Authorize(Principal{Role: Viewer}, "listTokens", "")
	if want := "permission denied: role viewer may not list API and join tokens"; err == nil || err.Error() != want {
		t.Errorf("a viewer listing tokens: %v; want %q", err, want)
	}
}

// A refusal for another tenant's things says so in a user's words, not
// "permission denied: not visible: tenant b"; it still wraps ErrDenied
// and ErrNotVisible, which the server maps to 403 or 404.
func TestRefusalOfAnotherTenantSaysWhatWasTried(t *testing.T) {
	err := Authorize(Principal{Role: Member, Tenant: "a"}, "listSecrets", "b")
	want := "permission denied: a token of tenant a may not list secrets of tenant b"
	if err == nil || err.Error() != want || !errors.Is(err, ErrDenied) || !errors.Is(err, ErrNotVisible) {
		t.Errorf("member of a listing b's secrets: %v; want %q, wrapping ErrDenied and ErrNotVisible", err, want)
	}
}
