package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
	"github.com/carnot-dc/carnot/internal/store/postgres"
)

// Two replicas on one PostgreSQL database, the first deposed while it
// still answers (its lease lost, its writes fenced): a renewal it serves
// after the new leader revoked the node is refused (it reads the
// revocation from the database, whatever it holds in memory), and one
// it signed before but commits after the new leader's lease is not
// saved, so the new leader refuses both the node's certificate and the
// one the deposed leader signed. Nor does the deposed leader keep the
// first certificate presented of a node whose record an earlier version
// wrote: the new leader keeps the first presented to it.
func TestDeposedLeadersRenewalCannotOutliveARevocation(t *testing.T) {
	dbURL := pgSchemaURL(t)
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	db, err := postgres.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	replica := func(holder string) *env {
		l, err := db.Campaign(ctx, holder, "https://"+holder, 200*time.Millisecond)
		for err == nil && l.Holder != holder { // the other's lease runs out
			time.Sleep(50 * time.Millisecond)
			l, err = db.Campaign(ctx, holder, "https://"+holder, 200*time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(ctx, Config{Facility: DevFacility("local", "FR"), DynamicNodes: true, Store: store.Fenced(db, l.Epoch), Now: clk.now,
			Heartbeat: time.Second, HeartbeatTimeout: 10 * time.Second, KillTimeout: 5 * time.Second, TokenKey: testTokenKey, CA: testCA(t)})
		if err != nil {
			t.Fatal(err)
		}
		return envOf(t, s, t.TempDir(), clk)
	}
	legacy := []byte(`{"site":"local","enrolled":"2026-03-01T10:00:00Z","by":"token:join/1"}`) // an earlier version's: no serials
	if err := db.PutRecords(ctx, []store.Record{{Kind: recNode, Key: "m3", Doc: legacy}}, nil); err != nil {
		t.Fatal(err)
	}
	a := replica("a")
	join, err := a.s.MintToken(ctx, api.TokenRequest{Name: "join", Role: "join", Site: "local"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	code, out, m1 := a.enroll(withBearer(join.Secret), "m1")
	if code != http.StatusOK {
		t.Fatalf("enrollment of m1: %d %s", code, out)
	}
	code, out, m2 := a.enroll(withBearer(join.Secret), "m2")
	if code != http.StatusOK {
		t.Fatalf("enrollment of m2: %d %s", code, out)
	}

	b := replica("b") // a is deposed, and does not know it yet
	if code, out := b.doWith(withBearer(tokenFor(t, b.s, "operator-admin", "")), "POST", "/v1/nodes/m1/revoke", nil, nil); code != http.StatusNoContent {
		t.Fatalf("revoke m1 at the new leader: %d %s", code, out)
	}
	if code, out, _ := a.enroll(m1, "m1"); code != http.StatusUnauthorized || !strings.Contains(out, "revoked") {
		t.Errorf("m1 renewing at the deposed leader after the new leader revoked it: %d %s; want 401", code, out)
	}
	code, out, renewed := a.enroll(m2, "m2")
	if code != http.StatusServiceUnavailable {
		t.Fatalf("m2 renewing at the deposed leader: %d %s; want 503, its write fenced", code, out)
	}
	if renewed != nil {
		t.Error("the deposed leader answered a certificate it could not save")
	}
	ping := func(e *env, cred func(*http.Request) *http.Request, node string) (int, string) {
		code, out := e.doWith(cred, "GET", "/v1/agent/nodes/"+node+"/assignments", nil, nil)
		return code, string(out)
	}
	if code, out := ping(b, m1, "m1"); code != http.StatusUnauthorized {
		t.Errorf("m1's revoked certificate at the new leader: %d %s; want 401", code, out)
	}
	if code, out := ping(b, m2, "m2"); code == http.StatusUnauthorized {
		t.Errorf("m2's certificate at the new leader, its renewal at the deposed one fenced: %d %s; want it accepted", code, out)
	}
	if code, out := b.doWith(withBearer(tokenFor(t, b.s, "operator-admin", "")), "POST", "/v1/nodes/m2/revoke", nil, nil); code != http.StatusNoContent {
		t.Fatalf("revoke m2 at the new leader: %d %s", code, out)
	}
	if code, out, _ := a.enroll(m2, "m2"); code != http.StatusUnauthorized {
		t.Errorf("m2 renewing at the deposed leader after its revocation: %d %s; want 401", code, out)
	}

	stale, own := unissued(t, "local", "m3"), unissued(t, "local", "m3")
	if code, out := ping(a, stale, "m3"); code != http.StatusServiceUnavailable {
		t.Errorf("a certificate of legacy m3 first presented at the deposed leader: %d %s; want 503, not kept", code, out)
	}
	if code, out := ping(b, own, "m3"); code == http.StatusUnauthorized {
		t.Errorf("m3's certificate first presented at the new leader: %d %s; want it kept", code, out)
	}
	if code, out := ping(b, stale, "m3"); code != http.StatusUnauthorized {
		t.Errorf("the certificate of m3 the deposed leader could not keep, at the new leader: %d %s; want 401", code, out)
	}
}
