package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// ping is a request of node m1's agent with cred: its status and body.
func (e *env) ping(cred func(*http.Request) *http.Request) (int, string) {
	e.t.Helper()
	code, out := e.doWith(cred, "GET", "/v1/agent/nodes/m1/assignments", nil, nil)
	return code, string(out)
}

// serialOf is the serial (hex) of the certificate cred presents.
func serialOf(t *testing.T, cred func(*http.Request) *http.Request) string {
	t.Helper()
	return cred(httptest.NewRequest("GET", "/", nil)).TLS.VerifiedChains[0][0].SerialNumber.Text(16)
}

// retiredEvents are the events that record node m1's predecessor
// refused.
func (e *env) retiredEvents() []api.Event {
	return e.m1Events("is refused from now", "renewed certificate")
}

// m1Events are node m1's events whose message says each of says.
func (e *env) m1Events(says ...string) []api.Event {
	e.t.Helper()
	var evs api.EventList
	if code := e.do("GET", "/v1/events", nil, &evs); code != http.StatusOK {
		e.t.Fatalf("events: %d", code)
	}
	var out []api.Event
	for _, ev := range evs.Events {
		if ev.Node == "m1" && !slices.ContainsFunc(says, func(s string) bool { return !strings.Contains(ev.Message, s) }) {
			out = append(out, ev)
		}
	}
	return out
}

// A node's renewal leaves the certificate it renewed with accepted
// until the node uses the new one: from its first request with the new
// one, the old one is refused (a copy of it, stolen, authenticates
// nothing more), saying why, with an event of the node in the audit log;
// after a restart too. Before, it stayed accepted until the node's next
// renewal, weeks later.
func TestRenewedCertificateInUseRefusesItsPredecessor(t *testing.T) {
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
	if code, out := e.ping(first); code == http.StatusUnauthorized {
		t.Fatalf("m1 with the certificate it renewed with, the new one not used yet: %d %s; want it accepted", code, out)
	}
	if code, out := e.ping(second); code == http.StatusUnauthorized {
		t.Fatalf("m1 with its renewed certificate: %d %s", code, out)
	}
	old := serialOf(t, first)
	code, out = e.ping(first)
	if code != http.StatusUnauthorized || !strings.Contains(out, "was renewed") || !strings.Contains(out, old) {
		t.Errorf("m1 with the certificate it renewed with, once the renewed one was used: %d %s; want 401 saying it was renewed", code, out)
	}
	if code, out, _ := e.enroll(first, "m1"); code != http.StatusUnauthorized {
		t.Errorf("a renewal with the certificate m1 renewed, once the renewed one was used: %d %s; want 401", code, out)
	}
	if code, out := e.ping(second); code == http.StatusUnauthorized {
		t.Errorf("m1 with its renewed certificate, used again: %d %s", code, out)
	}
	evs := e.retiredEvents()
	if len(evs) != 1 || evs[0].Actor != "node:m1" || evs[0].Type != api.EventNode || !strings.Contains(evs[0].Message, old) {
		t.Errorf("events of the predecessor refused: %+v; want one, of type node, by node:m1, naming serial %s", evs, old)
	} else if _, export := e.get("/v1/audit/export"); !bytes.Contains(export, []byte(evs[0].Message)) {
		t.Errorf("the audit log does not record the predecessor refused")
	}

	e.s.store.Close()
	e = openEnvQuiet(t, e.dir, e.s.cfg.Facility, e.s.cfg.DynamicNodes, e.clock, func(c *Config) { c.CA = testCA(t) })
	if code, out := e.ping(first); code != http.StatusUnauthorized || !strings.Contains(out, "was renewed") {
		t.Errorf("m1's predecessor after a restart: %d %s; want 401 saying it was renewed", code, out)
	}
	if code, out := e.ping(second); code == http.StatusUnauthorized {
		t.Errorf("m1's renewed certificate after a restart: %d %s", code, out)
	}
	code, out, third := e.enroll(second, "m1")
	if code != http.StatusOK {
		t.Fatalf("m1 renewing again: %d %s", code, out)
	}
	if code, out := e.ping(third); code == http.StatusUnauthorized {
		t.Fatalf("m1 with its certificate renewed again: %d %s", code, out)
	}
	if code, out := e.ping(second); code != http.StatusUnauthorized {
		t.Errorf("m1's second certificate once the third was used: %d %s; want 401", code, out)
	}
	if n := len(e.retiredEvents()); n != 2 {
		t.Errorf("%d events of a predecessor refused after two renewals used; want 2", n)
	}
}

// A renewal whose answer was lost leaves the node the certificate it
// renewed with, still accepted (the new one was never used), with which
// it renews again: the certificate the lost answer carried is refused
// from then, and the one it renewed with once the node uses the one it
// got.
func TestLostRenewalLeavesThePredecessorAccepted(t *testing.T) {
	f := newFixture(t)
	e := f.e
	code, out, first := e.enroll(withBearer(f.join["x"]), "m1")
	if code != http.StatusOK {
		t.Fatalf("enrollment of m1: %d %s", code, out)
	}
	code, out, lost := e.enroll(first, "m1") // its answer lost: m1 keeps first
	if code != http.StatusOK {
		t.Fatalf("m1 renewing: %d %s", code, out)
	}
	e.clock.add(time.Hour) // an outage: the node retries much later
	if code, out := e.ping(first); code == http.StatusUnauthorized {
		t.Fatalf("m1 with its only certificate, the renewal's answer lost: %d %s; want it accepted", code, out)
	}
	code, out, got := e.enroll(first, "m1")
	if code != http.StatusOK {
		t.Fatalf("m1 renewing again with the certificate it holds: %d %s", code, out)
	}
	if code, out := e.ping(lost); code != http.StatusUnauthorized {
		t.Errorf("the certificate whose answer was lost, once m1 renewed again: %d %s; want 401", code, out)
	}
	if code, out := e.ping(first); code == http.StatusUnauthorized {
		t.Errorf("m1's predecessor before it used its new certificate: %d %s; want it accepted", code, out)
	}
	if code, out := e.ping(got); code == http.StatusUnauthorized {
		t.Fatalf("m1's new certificate: %d %s", code, out)
	}
	if code, out := e.ping(first); code != http.StatusUnauthorized {
		t.Errorf("m1's predecessor once it used its new certificate: %d %s; want 401", code, out)
	}
}

// Requests with the renewed certificate come together (a heartbeat, a
// long poll): one of them refuses the predecessor, recording one event;
// a request with the predecessor meanwhile is accepted or refused, never
// anything else.
func TestRenewedCertificateUsedConcurrently(t *testing.T) {
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
	var wg sync.WaitGroup
	for i := range 16 {
		old := i%4 == 0
		cred := second
		if old {
			cred = first
		}
		wg.Go(func() {
			code, out := e.ping(cred)
			if code >= 500 || code == http.StatusUnauthorized && (!old || !strings.Contains(out, "was renewed")) {
				t.Errorf("a request of m1 (with its predecessor: %t) while it starts using its renewed certificate: %d %s", old, code, out)
			}
		})
	}
	wg.Wait()
	if code, out := e.ping(first); code != http.StatusUnauthorized {
		t.Errorf("m1's predecessor: %d %s; want 401", code, out)
	}
	if n := len(e.retiredEvents()); n != 1 {
		t.Errorf("%d events of the predecessor refused; want 1", n)
	}
}

// On PostgreSQL, the store replicas share: a replica that takes the
// lead refuses the predecessor the leader before it refused, and
// refuses one itself at the first use of a certificate renewed through
// the leader before it.
func TestNewLeaderRefusesTheRenewedCertificatesPredecessor(t *testing.T) {
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
	code, out, second := a.enroll(first, "m1")
	if code != http.StatusOK {
		t.Fatalf("m1 renewing: %d %s", code, out)
	}
	if code, out := a.ping(second); code == http.StatusUnauthorized {
		t.Fatalf("m1's renewed certificate: %d %s", code, out)
	}
	code, out, third := a.enroll(second, "m1") // not used before the failover
	if code != http.StatusOK {
		t.Fatalf("m1 renewing again: %d %s", code, out)
	}
	a.s.Retire()

	b := leader()
	if code, out := b.ping(first); code != http.StatusUnauthorized {
		t.Errorf("m1's first certificate at the new leader: %d %s; want 401", code, out)
	}
	if code, out := b.ping(second); code == http.StatusUnauthorized {
		t.Errorf("m1's second certificate at the new leader, the third not used yet: %d %s; want it accepted", code, out)
	}
	if code, out := b.ping(third); code == http.StatusUnauthorized {
		t.Fatalf("m1's third certificate at the new leader: %d %s", code, out)
	}
	if code, out := b.ping(second); code != http.StatusUnauthorized || !strings.Contains(out, "was renewed") {
		t.Errorf("m1's second certificate once the third was used at the new leader: %d %s; want 401 saying it was renewed", code, out)
	}
	if n := len(b.retiredEvents()); n != 2 {
		t.Errorf("%d events of a predecessor refused; want 2, one per leader", n)
	}
}

// A node's logs are still served once the certificate it renewed is
// refused, over the connection to its log server the server kept from
// before, made with that certificate: the server makes a new one, where
// the log server presents the renewed certificate.
func TestLogsOverAConnectionKeptFromBeforeARenewalUsed(t *testing.T) {
	e := openEnv(t, t.TempDir(), DevFacility("local", "FR"), true, &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)},
		func(c *Config) { c.CA = testCA(t) })
	join, err := e.s.MintToken(context.Background(), api.TokenRequest{Name: "join", Role: "join", Site: "local"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	code, out, cred, key := e.enrollKeyed(withBearer(join.Secret), "n1")
	if code != http.StatusOK {
		t.Fatalf("enrollment of n1: %d %s", code, out)
	}
	var held atomic.Pointer[tls.Certificate]
	held.Store(&key)
	logs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "out\n")
	}))
	logs.TLS = &tls.Config{MinVersion: tls.VersionTLS13,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{*held.Load()}}, nil
		}}
	logs.StartTLS()
	t.Cleanup(logs.Close)
	id := runningWithLogsAt(t, e, logs.URL)
	if w := e.raw("GET", "/v1/jobs/"+id+"/logs", nil); w.Code != http.StatusOK {
		t.Fatalf("logs of n1: %d %s", w.Code, w.Body)
	}
	code, out, renewedCred, renewed := e.enrollKeyed(cred, "n1")
	if code != http.StatusOK {
		t.Fatalf("n1's renewal: %d %s", code, out)
	}
	held.Store(&renewed)
	if code, out := e.doWith(renewedCred, "GET", "/v1/agent/nodes/n1/assignments", nil, nil); code == http.StatusUnauthorized {
		t.Fatalf("n1 with its renewed certificate: %d %s", code, out)
	}
	if code, out := e.doWith(cred, "GET", "/v1/agent/nodes/n1/assignments", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("n1 with the certificate it renewed, once the renewed one was used: %d %s; want 401", code, out)
	}
	if w := e.raw("GET", "/v1/jobs/"+id+"/logs", nil); w.Code != http.StatusOK || w.Body.String() != "out\n" {
		t.Errorf("logs of n1 after its renewed certificate was used, over the connection made with the one it renewed: %d %s; want them", w.Code, w.Body)
	}
}
