package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A replica that takes the lead builds its server from the database
// (New): it accepts and refuses a node's certificates as the leader
// before it did. On PostgreSQL, the store replicas share: a renewal's
// two certificates accepted, a replaced one and a revoked node's
// refused, and a renewal whose answer the old leader lost renewed
// again with the same certificate through the new one.
func TestNewLeaderKeepsTheCertificatesAccepted(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	leader := pgLeaders(t, clk, func(c *Config) { c.CA = testCA(t) })
	a := leader()
	join, err := a.s.MintToken(ctx, api.TokenRequest{Name: "join", Role: "join", Site: "local"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	code, out, first := a.enroll(withBearer(join.Secret), "m1")
	if code != http.StatusOK {
		t.Fatalf("enrollment of m1: %d %s", code, out)
	}
	if code, out, _ := a.enroll(first, "m1"); code != http.StatusOK { // its answer lost: m1 keeps first
		t.Fatalf("m1 renewing: %d %s", code, out)
	}
	code, out, m2 := a.enroll(withBearer(join.Secret), "m2")
	if code != http.StatusOK {
		t.Fatalf("enrollment of m2: %d %s", code, out)
	}
	if code := a.do("POST", "/v1/nodes/m2/revoke", nil, nil); code != http.StatusNoContent {
		t.Fatalf("revoke m2: %d", code)
	}
	a.s.Retire()

	b := leader()
	ping := func(cred func(*http.Request) *http.Request, node string) (int, string) {
		code, out := b.doWith(cred, "GET", "/v1/agent/nodes/"+node+"/assignments", nil, nil)
		return code, string(out)
	}
	if code, out := ping(first, "m1"); code == http.StatusUnauthorized {
		t.Errorf("m1's certificate, which it renewed with, at the new leader: %d %s; want it accepted", code, out)
	}
	if code, out := ping(unissued(t, "local", "m1"), "m1"); code != http.StatusUnauthorized {
		t.Errorf("a certificate of m1 no enrollment issued, at the new leader: %d %s; want 401", code, out)
	}
	if code, out := ping(m2, "m2"); code != http.StatusUnauthorized || !strings.Contains(out, "revoked") {
		t.Errorf("revoked m2 at the new leader: %d %s; want 401 saying it was revoked", code, out)
	}
	code, out, renewed := b.enroll(first, "m1")
	if code != http.StatusOK {
		t.Fatalf("m1 renewing again at the new leader, with the certificate it kept: %d %s", code, out)
	}
	if code, out := ping(renewed, "m1"); code == http.StatusUnauthorized {
		t.Errorf("m1's renewed certificate at the new leader: %d %s", code, out)
	}
}
