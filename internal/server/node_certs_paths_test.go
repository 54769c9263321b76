package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// authenticatedRenewal is node's renewal request presenting cred's
// certificate, authenticated now, as the guard does before the handler
// runs; its handler is run by the caller later: what happens between
// the two (a revocation, an enrollment) is what a renewal in flight
// meets, since the handler waits for enrollMu.
func (e *env) authenticatedRenewal(cred func(*http.Request) *http.Request, node string) *http.Request {
	e.t.Helper()
	b, _ := json.Marshal(enrollBody(e.t, node))
	r := cred(httptest.NewRequest("POST", "/v1/agent/enroll", bytes.NewReader(b)))
	r.Header.Set("Content-Type", "application/json")
	p, err := e.s.authenticate(r)
	if err != nil {
		e.t.Fatalf("node %s's renewal, authenticated before: %v", node, err)
	}
	return r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
}

// A renewal that was authenticated before its node's certificates were
// revoked, or replaced by an enrollment, and that reached the enrollment
// lock after, is refused: it must not hand the stolen key's holder a
// fresh certificate, nor undo the revocation. (The handler read the
// record under the lock but did not check the certificate it was sent
// with against it: an attacker renewing in a loop won the race against
// carnot revoke-node.)
func TestRenewalInFlightDoesNotUndoARevocation(t *testing.T) {
	f := newFixture(t)
	e := f.e
	ping := func(cred func(*http.Request) *http.Request) (int, string) {
		code, out := e.doWith(cred, "GET", "/v1/agent/nodes/m1/assignments", nil, nil)
		return code, string(out)
	}
	code, out, stolen := e.enroll(withBearer(f.join["x"]), "m1")
	if code != http.StatusOK {
		t.Fatalf("enrollment of m1: %d %s", code, out)
	}

	inFlight := e.authenticatedRenewal(stolen, "m1")
	if code := e.do("POST", "/v1/nodes/m1/revoke", nil, nil); code != http.StatusNoContent {
		t.Fatalf("revoke m1: %d", code)
	}
	w := httptest.NewRecorder()
	e.s.handleEnroll(w, inFlight)
	if w.Code == http.StatusOK {
		t.Errorf("a renewal in flight across the revocation got a certificate: %d %s", w.Code, w.Body)
		if code, out := ping(withCert(t, certOf(t, w.Body.Bytes()))); code != http.StatusUnauthorized {
			t.Errorf("m1 with the certificate it renewed into after the revocation: %d %s; want 401", code, out)
		}
	} else if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "revoked") {
		t.Errorf("a renewal in flight across the revocation: %d %s; want 401 saying it was revoked", w.Code, w.Body)
	}
	if code, out := ping(stolen); code != http.StatusUnauthorized || !strings.Contains(out, "revoked") {
		t.Errorf("m1's revoked certificate after the renewal in flight: %d %s; want 401, still revoked", code, out)
	}

	// The same across an enrollment after reenroll-node: the old
	// machine's renewal must not win its certificate back.
	if code := e.do("POST", "/v1/nodes/m1/reenroll", nil, nil); code != http.StatusOK {
		t.Fatalf("reenroll-node m1: %d", code)
	}
	code, out, fresh := e.enroll(withBearer(f.join["x"]), "m1")
	if code != http.StatusOK {
		t.Fatalf("m1 enrolling again: %d %s", code, out)
	}
	code, out, _ = e.enroll(fresh, "m1") // a renewal: the record keeps fresh too
	if code != http.StatusOK {
		t.Fatalf("m1 renewing: %d %s", code, out)
	}
	inFlight = e.authenticatedRenewal(fresh, "m1")
	if code := e.do("POST", "/v1/nodes/m1/reenroll", nil, nil); code != http.StatusOK {
		t.Fatalf("reenroll-node m1: %d", code)
	}
	if code, out, _ := e.enroll(withBearer(f.join["x"]), "m1"); code != http.StatusOK {
		t.Fatalf("m1 enrolling once more: %d %s", code, out)
	}
	w = httptest.NewRecorder()
	e.s.handleEnroll(w, inFlight)
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "replaced by an enrollment") {
		t.Errorf("the old machine's renewal in flight across the enrollment: %d %s; want 401 saying it was replaced", w.Code, w.Body)
	}
	if code, out := ping(fresh); code != http.StatusUnauthorized {
		t.Errorf("the old machine's certificate after its renewal in flight: %d %s; want 401", code, out)
	}
}

// certOf is the certificate of an enrollment's answer.
func certOf(t testing.TB, body []byte) string {
	t.Helper()
	var en struct {
		Certificate string `json:"certificate"`
	}
	if err := json.Unmarshal(body, &en); err != nil {
		t.Fatal(err)
	}
	return en.Certificate
}

// The server fetches a job's logs from its node's log server only when
// the certificate that server presents is one the server accepts: a
// revoked key (a stolen one, served from the node's address) cannot
// feed tenants logs of its making, neither on a new connection nor on
// one the server kept open from before the revocation.
func TestLogsAreNotFetchedFromARevokedCertificate(t *testing.T) {
	e := openEnv(t, t.TempDir(), DevFacility("local", "FR"), true, &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)},
		func(c *Config) { c.CA = testCA(t) })
	join, err := e.s.MintToken(context.Background(), api.TokenRequest{Name: "join", Role: "join", Site: "local"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	code, out, _, key := e.enrollKeyed(withBearer(join.Secret), "n1")
	if code != http.StatusOK {
		t.Fatalf("enrollment of n1: %d %s", code, out)
	}
	fetched := 0
	logs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched++
		io.WriteString(w, "output of the holder of n1's key\n")
	}))
	logs.TLS = &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{key}}
	logs.StartTLS()
	t.Cleanup(logs.Close)
	id := runningWithLogsAt(t, e, logs.URL)
	if w := e.raw("GET", "/v1/jobs/"+id+"/logs", nil); w.Code != http.StatusOK || fetched != 1 {
		t.Fatalf("logs from n1 before the revocation: %d %s (%d fetched); want them", w.Code, w.Body, fetched)
	}
	if code := e.do("POST", "/v1/nodes/n1/revoke", nil, nil); code != http.StatusNoContent {
		t.Fatalf("revoke n1: %d", code)
	}
	for _, how := range []string{"on the connection kept open", "on a new connection"} {
		w := e.raw("GET", "/v1/jobs/"+id+"/logs", nil)
		if w.Code == http.StatusOK || strings.Contains(w.Body.String(), "holder of n1's key") || !strings.Contains(w.Body.String(), "revoked") ||
			strings.Contains(w.Body.String(), "token:") {
			t.Errorf("logs from n1's revoked certificate %s: %d %q; want a refusal saying it is revoked, not by whom (the caller may be a tenant)", how, w.Code, w.Body)
		}
		// One refusal, whichever check made it (the handshake's or the
		// answer's), and not that the agent cannot be reached.
		var p api.Problem
		json.Unmarshal(w.Body.Bytes(), &p)
		if want := errNotTheNodes("n1").Error(); p.Detail != want {
			t.Errorf("logs from n1's revoked certificate %s: %q; want %q", how, p.Detail, want)
		}
		logs.CloseClientConnections()
	}
}

// lostCommitStore commits node records but answers an error, as a
// database whose connection broke after COMMIT was sent: the write may
// have been saved.
type lostCommitStore struct {
	store.Store
}

func (s lostCommitStore) PutRecords(ctx context.Context, recs []store.Record, evs []api.Event) error {
	if err := s.Store.PutRecords(ctx, recs, evs); err != nil {
		return err
	}
	return errors.New("the connection broke after COMMIT was sent")
}

// A revocation or an enrollment whose write failed but may have been
// saved leaves the server refusing what the store may refuse: the
// certificates it replaced (or revoked) are not accepted by this server
// while its successor, reading the store, would refuse them. (The
// server kept accepting them until its next restart.) A renewal's
// leaves the certificate it was sent with accepted.
func TestWriteThatMayHaveBeenSavedNarrowsTheCertificatesAccepted(t *testing.T) {
	f := newFixture(t)
	e := f.e
	ping := func(cred func(*http.Request) *http.Request, node string) (int, string) {
		code, out := e.doWith(cred, "GET", "/v1/agent/nodes/"+node+"/assignments", nil, nil)
		return code, string(out)
	}
	code, out, m1 := e.enroll(withBearer(f.join["x"]), "m1")
	if code != http.StatusOK {
		t.Fatalf("enrollment of m1: %d %s", code, out)
	}
	code, out, m2 := e.enroll(withBearer(f.join["x"]), "m2")
	if code != http.StatusOK {
		t.Fatalf("enrollment of m2: %d %s", code, out)
	}
	if code := e.do("POST", "/v1/nodes/m2/reenroll", nil, nil); code != http.StatusOK {
		t.Fatalf("reenroll-node m2: %d", code)
	}
	code, out, m3 := e.enroll(withBearer(f.join["x"]), "m3")
	if code != http.StatusOK {
		t.Fatalf("enrollment of m3: %d %s", code, out)
	}
	if code := e.register("m1", "x", 8); code != http.StatusOK {
		t.Fatalf("register m1: %d", code)
	}
	real := e.s.store
	e.s.store = lostCommitStore{real}
	if code := e.do("POST", "/v1/nodes/m1/revoke", nil, nil); code != http.StatusServiceUnavailable {
		t.Fatalf("revoke m1 with its commit lost: %d; want 503", code)
	}
	if code, _, _ := e.enroll(withBearer(f.join["x"]), "m2"); code != http.StatusServiceUnavailable {
		t.Fatalf("m2's new machine enrolling with its commit lost: %d; want 503", code)
	}
	if code, _, _ := e.enroll(m3, "m3"); code != http.StatusServiceUnavailable {
		t.Fatalf("m3 renewing with its commit lost: %d; want 503", code)
	}
	e.s.store = real
	if code, out := ping(m3, "m3"); code == http.StatusUnauthorized {
		t.Errorf("m3's certificate after its renewal's commit was lost: %d %s; want it accepted (it renews with it again)", code, out)
	}
	for node, cred := range map[string]func(*http.Request) *http.Request{"m1": m1, "m2": m2} {
		if code, out := ping(cred, node); code != http.StatusUnauthorized {
			t.Errorf("%s's certificate after a write refusing it that may have been saved: %d %s; want 401", node, code, out)
		}
	}
	var n api.Node
	if code := e.do("GET", "/v1/nodes/m1", nil, &n); code != http.StatusOK || n.Condition != api.NodeDraining {
		t.Errorf("m1 after a revocation that may have been saved: %d %s; want draining, as revoked", code, n.Condition)
	}
}

// A node's logs token (what its agent's log server asks of the server)
// changes when the node enrolls with a join token (and once it uses a
// renewed certificate: TestRenewalInUseChangesTheNodesLogsToken), not
// at the renewal itself: whoever held the name's earlier certificates
// (a stolen key that registered, the machine before a reinstall)
// learned the token in its registration's answer, and must not read the
// logs the node serves after its new enrollment.
func TestEnrollmentChangesTheNodesLogsToken(t *testing.T) {
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
	if code, out, _ := e.enroll(first, "n1"); code != http.StatusOK {
		t.Fatalf("n1 renewing: %d %s", code, out)
	}
	if got := tokenOf(first, "after a renewal not used yet"); got != before {
		t.Errorf("n1's logs token changed with a renewal not used yet; want the enrollment's (its agent would refuse the server until it heard)")
	}
	if code := e.do("POST", "/v1/nodes/n1/reenroll?force=true", nil, nil); code != http.StatusOK {
		t.Fatalf("reenroll-node n1: %d", code)
	}
	code, out, again := e.enroll(withBearer(join.Secret), "n1")
	if code != http.StatusOK {
		t.Fatalf("n1 enrolling again: %d %s", code, out)
	}
	after := tokenOf(again, "after its new enrollment")
	if after == before {
		t.Errorf("n1's logs token is the one its earlier enrollment's certificates learned; want a new one")
	}
	var sent string
	logs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent = r.Header.Get("Authorization")
		io.WriteString(w, "out\n")
	}))
	t.Cleanup(logs.Close)
	id := runningWithLogsAt(t, e, logs.URL)
	if w := e.raw("GET", "/v1/jobs/"+id+"/logs", nil); w.Code != http.StatusOK || sent != "Bearer "+after {
		t.Errorf("logs of n1: %d %s, sent %q; want the token its agent was given since its enrollment", w.Code, w.Body, sent)
	}
	e.s.store.Close()
	e = openEnv(t, e.dir, e.s.cfg.Facility, true, e.clock, func(c *Config) { c.CA = testCA(t) })
	if got := e.s.logsToken("n1"); got != after {
		t.Errorf("n1's logs token after a restart is not the one before it")
	}
}

// A long poll for assignments that an agent opened before its node's
// certificates were revoked does not answer it after: its tasks (their
// environment may hold a tenant's secrets) would go to the holder of a
// stolen key for as long as the poll waits (up to 5 minutes). It is
// answered 401 at the revocation.
func TestLongPollOpenAcrossARevocationIsRefused(t *testing.T) {
	e := openEnv(t, t.TempDir(), DevFacility("local", "FR"), true, &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)},
		func(c *Config) { c.CA = testCA(t) })
	join, err := e.s.MintToken(context.Background(), api.TokenRequest{Name: "join", Role: "join", Site: "local"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	code, out, stolen := e.enroll(withBearer(join.Secret), "n1")
	if code != http.StatusOK {
		t.Fatalf("enrollment of n1: %d %s", code, out)
	}
	if code := e.register("n1", "local", 8); code != http.StatusOK {
		t.Fatalf("register n1: %d", code)
	}
	var a api.Assignments
	if code, out := e.doWith(stolen, "GET", "/v1/agent/nodes/n1/assignments", nil, &a); code != http.StatusOK {
		t.Fatalf("n1's assignments: %d %s", code, out)
	}
	type answer struct {
		code int
		body string
	}
	polled := make(chan answer, 1)
	go func() {
		code, out := e.doWith(stolen, "GET", fmt.Sprintf("/v1/agent/nodes/n1/assignments?after=%d&wait=5m", a.Version), nil, nil)
		polled <- answer{code, string(out)}
	}()
	for waiting := false; !waiting; { // until the poll waits for a change
		e.s.mu.Lock()
		waiting = e.s.nodes["n1"].changed != nil
		e.s.mu.Unlock()
		runtime.Gosched()
	}
	if code := e.do("POST", "/v1/nodes/n1/revoke", nil, nil); code != http.StatusNoContent {
		t.Fatalf("revoke n1: %d", code)
	}
	e.submit(spec(1, 1))
	e.pass() // what n1 would run, were it not revoked
	got := <-polled
	if got.code != http.StatusUnauthorized || !strings.Contains(got.body, "revoked") {
		t.Errorf("n1's long poll open across its revocation: %d %s; want 401 saying it was revoked", got.code, got.body)
	}
}

// A join token's enrollment of a revoked node, not allowed again, is
// refused saying that it was revoked, when, and how it enrolls again (not
// by which token: TestNodeRefusalsDoNotNameTheOperatorsToken);
// not that its last certificate was issued at the revocation's time.
func TestJoinTokenRefusedForARevokedNodeSaysSo(t *testing.T) {
	f := newFixture(t)
	e := f.e
	if code, out, _ := e.enroll(withBearer(f.join["x"]), "m1"); code != http.StatusOK {
		t.Fatalf("enrollment of m1: %d %s", code, out)
	}
	if code := e.do("POST", "/v1/nodes/m1/revoke", nil, nil); code != http.StatusNoContent {
		t.Fatalf("revoke m1: %d", code)
	}
	code, out, _ := e.enroll(withBearer(f.join["x"]), "m1")
	if code != http.StatusConflict || !strings.Contains(out, "revoked by an operator-admin") || !strings.Contains(out, "carnot reenroll-node m1") ||
		strings.Contains(out, "last certificate issued") {
		t.Errorf("a join token enrolling revoked m1: %d %s; want 409 saying it was revoked and naming carnot reenroll-node", code, out)
	}
}

// A node whose certificates were revoked takes no new work: its agent
// can no longer fetch it, and work placed there would wait for the
// heartbeat timeout, then be lost, using up a retry. It runs what it
// has, and shows draining, until its agent is silent for the timeout;
// once it enrolls again it takes work as before.
func TestRevokedNodeTakesNoNewWork(t *testing.T) {
	e := openEnv(t, t.TempDir(), DevFacility("local", "FR"), true, &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)},
		func(c *Config) { c.CA = testCA(t) })
	join, err := e.s.MintToken(context.Background(), api.TokenRequest{Name: "join", Role: "join", Site: "local"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if code, out, _ := e.enroll(withBearer(join.Secret), "n1"); code != http.StatusOK {
		t.Fatalf("enrollment of n1: %d %s", code, out)
	}
	if code := e.register("n1", "local", 8); code != http.StatusOK {
		t.Fatalf("register n1: %d", code)
	}
	if code := e.do("POST", "/v1/nodes/n1/revoke", nil, nil); code != http.StatusNoContent {
		t.Fatalf("revoke n1: %d", code)
	}
	id := e.submit(spec(1, 1))
	e.pass()
	if j := e.job(id); j.State != api.StatePending {
		t.Errorf("a job submitted once n1, the only node, was revoked: %s; want pending", j.State)
	}
	var n api.Node
	if code := e.do("GET", "/v1/nodes/n1", nil, &n); code != http.StatusOK || n.Condition != api.NodeDraining || !n.CertificatesRevoked {
		t.Errorf("revoked n1: %d %s, certificates_revoked %v; want draining, revoked", code, n.Condition, n.CertificatesRevoked)
	}
	// A restart (or a new leader) reads the revocation with the records,
	// and says so (its agent, refused, cannot beat again).
	e.s.store.Close()
	e = openEnvQuiet(t, e.dir, DevFacility("local", "FR"), true, e.clock, func(c *Config) { c.CA = testCA(t) })
	n = api.Node{}
	if code := e.do("GET", "/v1/nodes/n1", nil, &n); code != http.StatusOK || n.Condition != api.NodeDraining || !n.CertificatesRevoked {
		t.Errorf("revoked n1 after a restart: %d %s, certificates_revoked %v; want draining, revoked", code, n.Condition, n.CertificatesRevoked)
	}
	if code := e.do("POST", "/v1/nodes/n1/reenroll?force=true", nil, nil); code != http.StatusOK {
		t.Fatalf("reenroll-node n1: %d", code)
	}
	if code, out, _ := e.enroll(withBearer(join.Secret), "n1"); code != http.StatusOK {
		t.Fatalf("n1 enrolling again: %d %s", code, out)
	}
	if code := e.register("n1", "local", 8); code != http.StatusOK {
		t.Fatalf("n1 registering again: %d", code)
	}
	e.pass()
	if j := e.job(id); j.State == api.StatePending {
		t.Errorf("the job once n1 enrolled again and registered: %s; want it placed", j.State)
	}
}

// reenroll-node's event for a revoked node does not say that the
// certificates it holds stay valid: they stay revoked.
func TestReenrollOfARevokedNodeSaysItsCertificatesStayRevoked(t *testing.T) {
	f := newFixture(t)
	e := f.e
	if code, out, _ := e.enroll(withBearer(f.join["x"]), "m1"); code != http.StatusOK {
		t.Fatalf("enrollment of m1: %d %s", code, out)
	}
	for _, op := range []struct {
		name string
		want int
	}{{"revoke", http.StatusNoContent}, {"reenroll", http.StatusOK}} {
		if code := e.do("POST", "/v1/nodes/m1/"+op.name, nil, nil); code != op.want {
			t.Fatalf("%s m1: %d", op.name, code)
		}
	}
	var evs api.EventList
	e.do("GET", "/v1/events", nil, &evs)
	said := ""
	for _, ev := range evs.Events {
		if ev.Node == "m1" && strings.Contains(ev.Message, "may enroll once more") {
			said = ev.Message
		}
	}
	if said == "" || strings.Contains(said, "stay valid") || !strings.Contains(said, "revoked") {
		t.Errorf("reenroll-node's event for revoked m1: %q; want it to say its certificates stay revoked", said)
	}
}

// A node that renewed its certificate twice while the server kept a
// connection to its log server, made with its first certificate, still
// serves its logs: the server does not take the first certificate any
// more, so it makes a new connection, where the log server presents
// its current one, rather than refuse the tenant.
func TestLogsOfANodeRenewedTwiceOverAConnectionKeptOpen(t *testing.T) {
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
	logs.TLS = &tls.Config{MinVersion: tls.VersionTLS13, // the agent's NodeCert.ServerConfig, with no SNI to go by
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{*held.Load()}}, nil
		}}
	logs.StartTLS()
	t.Cleanup(logs.Close)
	id := runningWithLogsAt(t, e, logs.URL)
	if w := e.raw("GET", "/v1/jobs/"+id+"/logs", nil); w.Code != http.StatusOK {
		t.Fatalf("logs of n1: %d %s", w.Code, w.Body)
	}
	for i := range 2 {
		var renewed tls.Certificate
		code, out, cred, renewed = e.enrollKeyed(cred, "n1")
		if code != http.StatusOK {
			t.Fatalf("n1's renewal %d: %d %s", i+1, code, out)
		}
		held.Store(&renewed)
	}
	if w := e.raw("GET", "/v1/jobs/"+id+"/logs", nil); w.Code != http.StatusOK || w.Body.String() != "out\n" {
		t.Errorf("logs of n1 after two renewals, the server's connection made with its first certificate: %d %s; want them", w.Code, w.Body)
	}
}

// A node's agent refused because an operator-admin revoked its
// certificates is told so by the problem's type, not only in words
// (api.ProblemNodeRevoked): its agent stops retrying as if the server
// were unreachable and says it must enroll again. A certificate refused
// for another reason (replaced by an enrollment) has the type of any
// 401.
func TestRevokedNodeIsToldByTheProblemType(t *testing.T) {
	e := openEnv(t, t.TempDir(), DevFacility("local", "FR"), true, &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)},
		func(c *Config) { c.CA = testCA(t) })
	join, err := e.s.MintToken(context.Background(), api.TokenRequest{Name: "join", Role: "join", Site: "local"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	code, out, first := e.enroll(withBearer(join.Secret), "n1")
	if code != http.StatusOK {
		t.Fatalf("enrollment of n1: %d %s", code, out)
	}
	if code := e.register("n1", "local", 8); code != http.StatusOK {
		t.Fatalf("register n1: %d", code)
	}
	problemOf := func(cred func(*http.Request) *http.Request) (int, api.Problem) {
		t.Helper()
		code, out := e.doWith(cred, "POST", "/v1/agent/nodes/n1/heartbeat", api.Heartbeat{}, nil)
		var p api.Problem
		if err := json.Unmarshal(out, &p); err != nil {
			t.Fatalf("heartbeat answer %d %s: %v", code, out, err)
		}
		return code, p
	}
	if code := e.do("POST", "/v1/nodes/n1/revoke", nil, nil); code != http.StatusNoContent {
		t.Fatalf("revoke n1: %d", code)
	}
	if code, p := problemOf(first); code != http.StatusUnauthorized || p.Type != api.ProblemNodeRevoked || !strings.Contains(p.Detail, "revoked") {
		t.Errorf("a heartbeat of revoked n1: %d %+v; want 401 of type %s", code, p, api.ProblemNodeRevoked)
	}
	if code := e.do("POST", "/v1/nodes/n1/reenroll", nil, nil); code != http.StatusOK {
		t.Fatalf("reenroll-node n1: %d", code)
	}
	if code, out, _ := e.enroll(withBearer(join.Secret), "n1"); code != http.StatusOK {
		t.Fatalf("n1 enrolling again: %d %s", code, out)
	}
	if code, p := problemOf(first); code != http.StatusUnauthorized || p.Type == api.ProblemNodeRevoked {
		t.Errorf("a heartbeat with n1's certificate replaced by an enrollment: %d %+v; want 401 of another type than %s", code, p, api.ProblemNodeRevoked)
	}
}
