package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// renewalEvents are node m1's events that record a renewal.
func (e *env) renewalEvents() []api.Event { return e.m1Events("renewed its certificate") }

// A certificate renewed again before the certificate its first renewal
// issued was presented (a renewal retried after its answer was lost, or
// a second holder of the node's key) is issued, and the certificate of
// the first renewal is refused from then, saying so: that it was
// renewed again, not that an enrollment replaced it. So is every
// certificate of the node's renewals once refused, after a restart too:
// none of them is said to be replaced by an enrollment.
func TestRenewedAgainBeforeTheRenewalWasUsed(t *testing.T) {
	f := newFixture(t)
	e := f.e
	code, out, first := e.enroll(withBearer(f.join["x"]), "m1")
	if code != http.StatusOK {
		t.Fatalf("enrollment of m1: %d %s", code, out)
	}
	code, out, second := e.enroll(first, "m1")
	if code != http.StatusOK {
		t.Fatalf("m1 renewing: %d %s", code, out)
	}
	e.clock.add(time.Minute)
	code, out, third := e.enroll(first, "m1") // the first renewal's answer taken for lost
	if code != http.StatusOK {
		t.Fatalf("m1 renewing again with the certificate it renewed, the renewal's certificate not used: %d %s", code, out)
	}
	s1, s2 := serialOf(t, first), serialOf(t, second)
	evs := e.renewalEvents()
	if len(evs) != 2 || !strings.Contains(evs[1].Message, "again") || !strings.Contains(evs[1].Message, s1) || !strings.Contains(evs[1].Message, s2) {
		t.Errorf("events of m1's renewals: %+v; want 2, the second saying it renewed again with serial %s, and that serial %s is refused", evs, s1, s2)
	}
	unused := func(when string) {
		t.Helper()
		code, out := e.ping(second)
		if code != http.StatusUnauthorized || !strings.Contains(out, "renewed again") || !strings.Contains(out, s2) || strings.Contains(out, "enrollment at") {
			t.Errorf("m1 with the certificate of the renewal done again before it was used, %s: %d %s; want 401 saying its predecessor was renewed again", when, code, out)
		}
	}
	unused("the new one not used yet")
	if code, out := e.ping(first); code == http.StatusUnauthorized {
		t.Fatalf("m1 with the certificate it renewed with, the new one not used yet: %d %s; want it accepted", code, out)
	}
	if code, out := e.ping(third); code == http.StatusUnauthorized {
		t.Fatalf("m1 with its renewed certificate: %d %s", code, out)
	}
	unused("the new one in use")
	code, out, fourth := e.enroll(third, "m1")
	if code != http.StatusOK {
		t.Fatalf("m1 renewing its renewed certificate: %d %s", code, out)
	}
	if code, out := e.ping(fourth); code == http.StatusUnauthorized {
		t.Fatalf("m1 with its certificate renewed twice: %d %s", code, out)
	}
	renewed := func(when string) {
		t.Helper()
		for _, c := range []struct {
			name string
			cred func(*http.Request) *http.Request
		}{{"first", first}, {"third", third}} {
			code, out := e.ping(c.cred)
			if code != http.StatusUnauthorized || !strings.Contains(out, "was renewed") || strings.Contains(out, "enrollment at") {
				t.Errorf("m1 with its %s certificate, renewed since, %s: %d %s; want 401 saying it was renewed", c.name, when, code, out)
			}
		}
		unused(when)
	}
	renewed("its last renewal in use")
	e.s.store.Close()
	e = openEnvQuiet(t, e.dir, e.s.cfg.Facility, e.s.cfg.DynamicNodes, e.clock, func(c *Config) { c.CA = testCA(t) })
	renewed("after a restart")
	if code, out := e.ping(fourth); code == http.StatusUnauthorized {
		t.Errorf("m1 with its last certificate after a restart: %d %s", code, out)
	}
}

// A node's logs token (what its agent's log server asks of the server)
// changes once the node uses a renewed certificate, when the one it
// renewed is refused: whoever holds a copy of that one (a stolen key
// that registered, a restored backup) learned the token, and must not
// read the logs the node serves after. It stays the same until then (a
// renewal whose answer was lost, retried, included), the answer of the
// first request with the new certificate gives the new token, and the
// server presents that one to the node's log server, after a restart
// too.
func TestRenewalInUseChangesTheNodesLogsToken(t *testing.T) {
	e := openEnv(t, t.TempDir(), DevFacility("local", "FR"), true, &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)},
		func(c *Config) { c.CA = testCA(t) })
	join, err := e.s.MintToken(context.Background(), api.TokenRequest{Name: "join", Role: "join", Site: "local"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	tokenOf := func(cred func(*http.Request) *http.Request, when string) string {
		t.Helper()
		reg := api.Register{Name: "n1", Site: "local", Address: "http://127.0.0.1:1", CPUs: 32, MemoryGiB: 256}
		var got api.Registered
		if code, out := e.doWith(cred, "POST", "/v1/agent/register", reg, &got); code != http.StatusOK || got.LogsToken == "" {
			t.Fatalf("n1 registering %s: %d %s; want a logs token", when, code, out)
		}
		return got.LogsToken
	}
	code, out, first := e.enroll(withBearer(join.Secret), "n1")
	if code != http.StatusOK {
		t.Fatalf("enrollment of n1: %d %s", code, out)
	}
	before := tokenOf(first, "once enrolled")
	for i := range 2 { // the second a renewal retried, the first's answer lost
		if code, out, _ := e.enroll(first, "n1"); code != http.StatusOK {
			t.Fatalf("n1 renewing (%d): %d %s", i+1, code, out)
		}
		if got := tokenOf(first, "with the certificate it renewed, the new one not used"); got != before {
			t.Errorf("n1's logs token after renewal %d, the renewed certificate not used: changed; want the same until it is (its agent learns a new one at its next call)", i+1)
		}
	}
	code, out, second := e.enroll(first, "n1")
	if code != http.StatusOK {
		t.Fatalf("n1 renewing: %d %s", code, out)
	}
	after := tokenOf(second, "with its renewed certificate, for the first time")
	if after == before {
		t.Errorf("n1's logs token once its renewed certificate is used is the one the certificate it renewed learned; want a new one")
	}
	var hb api.HeartbeatReply
	if code, out := e.doWith(second, "POST", "/v1/agent/nodes/n1/heartbeat", api.Heartbeat{}, &hb); code != http.StatusOK || hb.LogsToken != after {
		t.Errorf("n1's heartbeat with its renewed certificate: %d %s, logs token %q; want %q", code, out, hb.LogsToken, after)
	}
	var sent string
	logs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent = r.Header.Get("Authorization")
		io.WriteString(w, "out\n")
	}))
	t.Cleanup(logs.Close)
	id := runningWithLogsAt(t, e, logs.URL)
	if w := e.raw("GET", "/v1/jobs/"+id+"/logs", nil); w.Code != http.StatusOK || sent != "Bearer "+after {
		t.Errorf("logs of n1: %d %s, sent %q; want the token its agent was given with its renewed certificate", w.Code, w.Body, sent)
	}
	e.s.store.Close()
	e = openEnv(t, e.dir, e.s.cfg.Facility, true, e.clock, func(c *Config) { c.CA = testCA(t) })
	if got := e.s.logsToken("n1"); got != after {
		t.Errorf("n1's logs token after a restart is not the one before it")
	}
}
