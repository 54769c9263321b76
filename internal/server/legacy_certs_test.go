package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// legacyRecord makes node's enrollment record one an earlier version of
// Carnot wrote (no serials kept) and restarts the server on it.
func legacyRecord(t *testing.T, e *env, nodes ...string) *env {
	t.Helper()
	ctx := context.Background()
	for _, n := range nodes {
		doc, err := json.Marshal(map[string]any{"site": "x", "enrolled": e.clock.now(), "by": "token:join-x"})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.s.store.PutRecords(ctx, []store.Record{{Kind: recNode, Key: n, Doc: doc}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	e.s.store.Close()
	return openEnvQuiet(t, e.dir, e.s.cfg.Facility, e.s.cfg.DynamicNodes, e.clock, func(c *Config) { c.CA = testCA(t) })
}

// A node whose enrollment record an earlier version wrote (no serials
// kept, every certificate of the name accepted) has the first
// certificate it presents since kept: any other certificate of the name
// is refused from then, after a restart too, saying why, as after a
// renewal (the first to renew kept its certificate before, which any
// certificate of the name could do at once). Its renewal keeps it.
func TestLegacyEnrollmentKeepsTheFirstCertificatePresented(t *testing.T) {
	f := newFixture(t)
	code, out, cert := f.e.enroll(withBearer(f.join["x"]), "m1")
	if code != http.StatusOK {
		t.Fatalf("enrollment of m1: %d %s", code, out)
	}
	e := legacyRecord(t, f.e, "m1")
	other := unissued(t, "x", "m1") // a certificate of m1 from before: a reinstall's, a stolen key's
	ping := func(cred func(*http.Request) *http.Request) (int, string) {
		code, out := e.doWith(cred, "GET", "/v1/agent/nodes/m1/assignments", nil, nil)
		return code, string(out)
	}
	if code, out := ping(cert); code == http.StatusUnauthorized {
		t.Fatalf("m1's certificate, its record written by an earlier version: %d %s; want it accepted", code, out)
	}
	if code, out := ping(other); code != http.StatusUnauthorized || !strings.Contains(out, "earlier version") {
		t.Errorf("another certificate of m1, after m1's was presented: %d %s; want 401 saying why", code, out)
	}
	var evs api.EventList
	e.do("GET", "/v1/events", nil, &evs)
	kept := false
	for _, ev := range evs.Events {
		kept = kept || ev.Node == "m1" && strings.Contains(ev.Message, "earlier version") && strings.Contains(ev.Message, "kept")
	}
	if !kept {
		t.Errorf("no event saying m1's certificate was kept: %+v", evs.Events)
	}
	e.s.store.Close()
	e = openEnvQuiet(t, e.dir, e.s.cfg.Facility, e.s.cfg.DynamicNodes, e.clock, func(c *Config) { c.CA = testCA(t) })
	if code, out := ping(other); code != http.StatusUnauthorized {
		t.Errorf("another certificate of m1 after a restart: %d %s; want 401", code, out)
	}
	code, out, renewed := e.enroll(cert, "m1")
	if code != http.StatusOK {
		t.Fatalf("m1 renewing with the certificate kept: %d %s", code, out)
	}
	// In this order: the certificate kept still works until the renewed
	// one is used (the renewal's answer may have been lost), and not after.
	if code, out := ping(cert); code == http.StatusUnauthorized {
		t.Errorf("m1's certificate kept, after the renewal: %d %s; want it accepted", code, out)
	}
	if code, out := ping(renewed); code == http.StatusUnauthorized {
		t.Errorf("m1's renewed certificate: %d %s; want it accepted", code, out)
	}
	if code, out := ping(cert); code != http.StatusUnauthorized || !strings.Contains(out, "was renewed") {
		t.Errorf("m1's certificate kept, once the renewed one was used: %d %s; want 401 saying it was renewed", code, out)
	}
}

// Two certificates of a node whose record an earlier version wrote,
// presented at once: one is kept, the other refused.
func TestLegacyEnrollmentKeepsOneOfTwoAtOnce(t *testing.T) {
	f := newFixture(t)
	if code, out, _ := f.e.enroll(withBearer(f.join["x"]), "m1"); code != http.StatusOK {
		t.Fatalf("enrollment of m1: %d %s", code, out)
	}
	e := legacyRecord(t, f.e, "m1")
	creds := []func(*http.Request) *http.Request{unissued(t, "x", "m1"), unissued(t, "x", "m1")}
	codes := make([]int, len(creds))
	var wg sync.WaitGroup
	for i, c := range creds {
		wg.Go(func() { codes[i], _ = e.doWith(c, "GET", "/v1/agent/nodes/m1/assignments", nil, nil) })
	}
	wg.Wait()
	refused := 0
	for _, c := range codes {
		if c == http.StatusUnauthorized {
			refused++
		}
	}
	if refused != 1 {
		t.Errorf("two certificates of m1 presented at once: %v; want exactly one refused", codes)
	}
}

// The certificate kept of a node whose record an earlier version wrote
// gives the node a new logs token, as an enrollment does: whoever held
// another certificate of the name registered with it before the upgrade
// and learned the old token, which the node's log server no longer
// takes once its agent hears the new one (in the answer to the request
// that kept its certificate, or its next heartbeat's).
func TestLegacyEnrollmentKeptChangesTheLogsToken(t *testing.T) {
	f := newFixture(t)
	code, out, cert := f.e.enroll(withBearer(f.join["x"]), "m1")
	if code != http.StatusOK {
		t.Fatalf("enrollment of m1: %d %s", code, out)
	}
	e := legacyRecord(t, f.e, "m1")
	before := e.s.logsToken("m1") // what any certificate of m1 learned before the upgrade
	reg := api.Register{Name: "m1", Site: "x", Address: "http://127.0.0.1:1", CPUs: 8, MemoryGiB: 64}
	var got api.Registered
	if code, out := e.doWith(cert, "POST", "/v1/agent/register", reg, &got); code != http.StatusOK {
		t.Fatalf("m1 registering: %d %s", code, out)
	}
	if got.LogsToken == "" || got.LogsToken == before {
		t.Errorf("m1's logs token once its certificate was kept: %q; want a new one, not %q", got.LogsToken, before)
	}
	if now := e.s.logsToken("m1"); now != got.LogsToken {
		t.Errorf("the server's logs token of m1 %q; want the one its agent was given, %q", now, got.LogsToken)
	}
}
