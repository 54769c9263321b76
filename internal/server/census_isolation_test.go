package server

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/audit"
	"github.com/carnot-dc/carnot/internal/auth"
	"github.com/carnot-dc/carnot/internal/pki"
)

// Tenant isolation through every listing and stream, node identity, and
// tokens and secrets that never show (issue 5). The servers are secEnv's
// (census_test.go).

// withBearer sends a token.
func withBearer(tok string) func(*http.Request) *http.Request {
	return func(r *http.Request) *http.Request {
		r.Header.Set("Authorization", "Bearer "+tok)
		return r
	}
}

// withNodeCert sends a verified certificate of node in site.
func withNodeCert(t *testing.T, site, name string) func(*http.Request) *http.Request {
	return func(r *http.Request) *http.Request { return asNode(t, r, site, name) }
}

// doWith sends a request to the operator listener with the credentials
// cred sets, checks that the status is documented, and decodes a JSON
// answer into out (when not nil and the status is 2xx).
func (e *env) doWith(cred func(*http.Request) *http.Request, method, path string, body, out any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req := cred(httptest.NewRequest(method, path, rd))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	e.s.Handler().ServeHTTP(w, req)
	checkDocumented(e.t, e.s.mux, req, w.Code)
	if out != nil && w.Code < 300 {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			e.t.Fatalf("%s %s: %d %s: %v", method, path, w.Code, w.Body.String(), err)
		}
	}
	return w.Code, w.Body.Bytes()
}

// A member of tenant a sees nothing of tenant b through any listing:
// jobs, deployments, events, tenants, usage, audit entries; asking for
// b's is refused.
func TestTenantIsolationListings(t *testing.T) {
	e := secEnv(t)
	ja, jb := e.submit(jobOf("a")), e.submit(jobOf("b"))
	var da, db api.Job
	e.do("POST", "/v1/deployments", jobOf("a"), &da)
	e.do("POST", "/v1/deployments", jobOf("b"), &db)
	// Both jobs run a minute and end, so that both tenants have usage.
	e.pass()
	e.report("n1", running(ja, 0, 1), running(jb, 0, 1))
	e.clock.add(time.Minute)
	e.report("n1", exited(ja, 0, 1, 0), exited(jb, 0, 1, 0))
	mem := withBearer(tokenFor(t, e.s, "member", "a"))
	bIDs := []string{jb, db.ID}

	var jobs api.JobList
	if code, _ := e.doWith(mem, "GET", "/v1/jobs", nil, &jobs); code != 200 {
		t.Fatalf("jobs: %d", code)
	}
	var ids []string
	for _, j := range jobs.Jobs {
		ids = append(ids, j.ID)
		if j.Tenant != "a" {
			t.Errorf("/v1/jobs shows job %s of tenant %s to a member of a", j.ID, j.Tenant)
		}
	}
	if !slices.Contains(ids, ja) || !slices.Contains(ids, da.ID) {
		t.Errorf("/v1/jobs: %v, want a's job %s and deployment %s", ids, ja, da.ID)
	}
	for _, q := range []string{"?tenant=b", "?tenant=default", "?tenant=b&kind=deployment"} {
		if code, _ := e.doWith(mem, "GET", "/v1/jobs"+q, nil, nil); code != http.StatusForbidden {
			t.Errorf("/v1/jobs%s as a member of a: %d, want 403", q, code)
		}
	}
	var deps api.JobList
	e.doWith(mem, "GET", "/v1/deployments", nil, &deps)
	if len(deps.Jobs) != 1 || deps.Jobs[0].ID != da.ID {
		t.Errorf("/v1/deployments: %+v, want a's deployment %s only", deps.Jobs, da.ID)
	}
	if code, _ := e.doWith(mem, "GET", "/v1/deployments?tenant=b", nil, nil); code != http.StatusForbidden {
		t.Errorf("/v1/deployments?tenant=b: %d, want 403", code)
	}

	var evs, all api.EventList
	e.doWith(mem, "GET", "/v1/events", nil, &evs)
	e.do("GET", "/v1/events", nil, &all)
	if len(evs.Events) == 0 || len(all.Events) <= len(evs.Events) {
		t.Fatalf("events: %d for a member of a, %d for an operator-admin", len(evs.Events), len(all.Events))
	}
	for _, ev := range evs.Events {
		if ev.Tenant != "a" || slices.ContainsFunc(bIDs, func(id string) bool { return ev.Job == id || strings.Contains(ev.Message, id) }) {
			t.Errorf("/v1/events shows a member of a: %+v", ev)
		}
	}

	var tl api.TenantList
	e.doWith(mem, "GET", "/v1/tenants", nil, &tl)
	if len(tl.Tenants) != 1 || tl.Tenants[0].Name != "a" {
		t.Errorf("/v1/tenants: %+v, want a only", tl.Tenants)
	}
	var ul, ulAll api.UsageList
	e.doWith(mem, "GET", "/v1/usage", nil, &ul)
	e.do("GET", "/v1/usage", nil, &ulAll)
	if len(ul.Tenants) != 1 || ul.Tenants[0].Tenant != "a" || ul.Total != ul.Tenants[0].Usage {
		t.Errorf("/v1/usage: %+v, want a's only, and a total of a's", ul)
	}
	if !slices.ContainsFunc(ulAll.Tenants, func(u api.TenantUsage) bool { return u.Tenant == "b" && u.GPUSeconds > 0 }) {
		t.Errorf("the operator's /v1/usage %+v has no usage of b: the check above proves nothing", ulAll.Tenants)
	}

	var ae api.AuditEntries
	if code, _ := e.doWith(mem, "GET", "/v1/audit/entries", nil, &ae); code != 200 || len(ae.Entries) == 0 {
		t.Fatalf("audit entries: %d, %d entries", code, len(ae.Entries))
	}
	for _, x := range ae.Entries {
		en, err := audit.ParseEntry(x.Entry)
		if err != nil || en.Tenant != "a" {
			t.Errorf("/v1/audit/entries shows a member of a: %s (%v)", x.Entry, err)
		}
	}
	ae = api.AuditEntries{}
	if code, _ := e.doWith(mem, "GET", "/v1/audit/entries?job="+jb, nil, &ae); code != http.StatusNotFound || len(ae.Entries) != 0 {
		t.Errorf("/v1/audit/entries?job=%s (of b) as a member of a: %d, %d entries; want 404, as for a job that does not exist", jb, code, len(ae.Entries))
	}
	if code, _ := e.doWith(mem, "GET", "/v1/audit/entries?tenant=b", nil, nil); code != http.StatusForbidden {
		t.Errorf("/v1/audit/entries?tenant=b: %d, want 403", code)
	}
	for _, p := range []string{"/v1/jobs/" + jb, "/v1/jobs/" + jb + "/events", "/v1/jobs/" + jb + "/why", "/v1/deployments/" + db.ID} {
		if code, _ := e.doWith(mem, "GET", p, nil, nil); code != http.StatusNotFound {
			t.Errorf("GET %s (of b) as a member of a: %d, want 404", p, code)
		}
	}
}

// The watch stream of a member of a carries a's events only.
func TestTenantIsolationWatch(t *testing.T) {
	e := secEnv(t)
	hs := httptest.NewServer(e.s.Handler())
	defer hs.Close()
	tok := tokenFor(t, e.s, "member", "a")
	get := func(path string) *http.Response {
		req, _ := http.NewRequest("GET", hs.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := get("/v1/watch?tenant=b"); resp.StatusCode != http.StatusForbidden {
		resp.Body.Close()
		t.Fatalf("/v1/watch?tenant=b as a member of a: %d, want 403", resp.StatusCode)
	} else {
		resp.Body.Close()
	}
	resp := get("/v1/watch")
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/v1/watch: %d", resp.StatusCode)
	}
	rd := bufio.NewReader(resp.Body)
	if line, err := rd.ReadString('\n'); err != nil || !strings.HasPrefix(line, ": watching") {
		t.Fatalf("stream starts with %q, %v", line, err)
	}
	// Subscribed: b's job, a facility event (a node registers), then a's.
	jb := e.submit(jobOf("b"))
	e.register("n2", "y", 8)
	ja := e.submit(jobOf("a"))
	deadline := time.AfterFunc(10*time.Second, func() { resp.Body.Close() })
	defer deadline.Stop()
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("the stream ended before a's submission: %v", err)
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		var ev api.Event
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Tenant != "a" || ev.Job == jb || strings.Contains(data, jb) {
			t.Errorf("a member of a watched %s", data)
		}
		if ev.Job == ja {
			return
		}
	}
}

// A node's certificate binds its name and site: claiming another name or
// site is refused and recorded; one node cannot act for another.
func TestNodeIdentityBound(t *testing.T) {
	e := secEnv(t) // n1 registered in x with its certificate
	reg := func(name, site string) api.Register {
		return api.Register{Name: name, Site: site, Address: "http://127.0.0.1:1", CPUs: 8, MemoryGiB: 64,
			GPUs: []api.GPUInfo{{Index: 0, Model: "H100"}}}
	}
	n1 := withNodeCert(t, "x", "n1")
	for _, c := range []struct{ name, site string }{{"n1", "y"}, {"n2", "x"}, {"n2", "y"}} {
		if code, body := e.doWith(n1, "POST", "/v1/agent/register", reg(c.name, c.site), nil); code != http.StatusForbidden {
			t.Errorf("node n1 of site x registering as %s in %s: %d %s, want 403", c.name, c.site, code, body)
		}
	}
	var evs api.EventList
	e.do("GET", "/v1/events", nil, &evs)
	for _, want := range []string{"claimed to be node n1 in site y", "claimed to be node n2 in site x", "claimed to be node n2 in site y"} {
		if !slices.ContainsFunc(evs.Events, func(ev api.Event) bool {
			return strings.Contains(ev.Message, want) && ev.Actor == "node:n1" && ev.Node == "n1"
		}) {
			t.Errorf("no event records that n1 %s", want)
		}
	}
	if _, export := e.get("/v1/audit/export"); !bytes.Contains(export, []byte("claimed to be node n1 in site y")) {
		t.Errorf("the audit log does not record the refusal")
	}
	var n api.Node
	if e.do("GET", "/v1/nodes/n1", nil, &n); n.Site != "x" {
		t.Errorf("n1 is in site %q after the refused claims, want x", n.Site)
	}
	if code, _ := e.doWith(withNodeCert(t, "y", "n2"), "POST", "/v1/agent/register", reg("n2", "y"), nil); code != 200 {
		t.Fatalf("n2 registering in y with its certificate: %d", code)
	}
	for _, c := range []struct{ method, path string }{
		{"POST", "/v1/agent/nodes/n2/heartbeat"},
		{"GET", "/v1/agent/nodes/n2/assignments"},
	} {
		var body any
		if c.method == "POST" {
			body = api.Heartbeat{}
		}
		if code, _ := e.doWith(n1, c.method, c.path, body, nil); code != http.StatusForbidden {
			t.Errorf("%s %s as n1: %d, want 403", c.method, c.path, code)
		}
		// A certificate of another site for the same name is another node.
		if code, _ := e.doWith(withNodeCert(t, "x", "n2"), c.method, c.path, body, nil); code != http.StatusForbidden {
			t.Errorf("%s %s as n2 of site x (n2 is in y): %d, want 403", c.method, c.path, code)
		}
		if code, _ := e.doWith(withNodeCert(t, "y", "n2"), c.method, c.path, body, nil); code != 200 {
			t.Errorf("%s %s as n2 itself: %d, want 200", c.method, c.path, code)
		}
	}
}

// enrolled turns an enrollment's answer into the credentials of a
// connection whose client certificate TLS verified against the CA.
func enrolled(t *testing.T, en api.Enrolled) (*x509.Certificate, func(*http.Request) *http.Request) {
	t.Helper()
	b, _ := pem.Decode([]byte(en.Certificate))
	if b == nil {
		t.Fatalf("certificate %q is not PEM", en.Certificate)
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(en.CA)) {
		t.Fatalf("CA %q is not PEM", en.CA)
	}
	chains, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		t.Fatalf("the enrolled certificate does not verify against the CA it came with: %v", err)
	}
	return cert, func(r *http.Request) *http.Request {
		r.TLS = &tls.ConnectionState{HandshakeComplete: true, PeerCertificates: []*x509.Certificate{cert}, VerifiedChains: chains}
		return r
	}
}

// A join token of a site gives a certificate of that site, and only that:
// the node's name stays in the site it first enrolled in; no other
// credential enrolls.
func TestNodeEnrollment(t *testing.T) {
	f := newFixture(t) // join tokens of sites x and y
	e := f.e
	joinX, joinY := withBearer(f.join["x"]), withBearer(f.join["y"])
	var en api.Enrolled
	if code, body := e.doWith(joinX, "POST", "/v1/agent/enroll", enrollBody(t, "n3"), &en); code != 200 {
		t.Fatalf("enroll n3 with a join token of x: %d %s", code, body)
	}
	cert, n3 := enrolled(t, en)
	if site, name, err := pki.NodeIdentity(cert); err != nil || site != "x" || name != "n3" || en.Site != "x" || en.Node != "n3" {
		t.Fatalf("enrolled as (%q, %q), %v; answer %s/%s; want (x, n3)", site, name, err, en.Site, en.Node)
	}
	reg := api.Register{Name: "n3", Site: "x", Address: "http://127.0.0.1:1", CPUs: 8, MemoryGiB: 64}
	if code, _ := e.doWith(n3, "POST", "/v1/agent/register", reg, nil); code != 200 {
		t.Errorf("n3 registering in x with its enrolled certificate: %d", code)
	}
	reg.Site = "y"
	if code, _ := e.doWith(n3, "POST", "/v1/agent/register", reg, nil); code != http.StatusForbidden {
		t.Errorf("n3 (enrolled in x) registering in y: %d, want 403", code)
	}
	if code, body := e.doWith(joinY, "POST", "/v1/agent/enroll", enrollBody(t, "n3"), nil); code != http.StatusForbidden {
		t.Errorf("enrolling n3 (of x) with a join token of y: %d %s, want 403", code, body)
	}
	var evs api.EventList
	e.do("GET", "/v1/events", nil, &evs)
	if !slices.ContainsFunc(evs.Events, func(ev api.Event) bool {
		return ev.Node == "n3" && byToken(ev.Actor, "join-y") && strings.Contains(ev.Message, "a join token of site y cannot")
	}) {
		t.Errorf("no event records the refused enrollment of n3 in y: %+v", evs.Events)
	}
	// Renewal with the node's own certificate works; a join token
	// enrolls a name once (TestJoinTokenCannotEnrollAnEnrolledName); a
	// CSR for another name does not.
	if code, _ := e.doWith(n3, "POST", "/v1/agent/enroll", enrollBody(t, "n3"), nil); code != 200 {
		t.Errorf("n3 renewing its certificate: %d, want 200", code)
	}
	if code, _ := e.doWith(joinX, "POST", "/v1/agent/enroll", enrollBody(t, "n3"), nil); code != http.StatusConflict {
		t.Errorf("enrolling n3 again in x with a join token: %d, want 409", code)
	}
	other := enrollBody(t, "n5")
	other.Node = "n4"
	if code, _ := e.doWith(joinX, "POST", "/v1/agent/enroll", other, nil); code != http.StatusBadRequest {
		t.Errorf("enrolling n4 with a CSR for n5: %d, want 400", code)
	}
	for name, cred := range map[string]func(*http.Request) *http.Request{
		"an operator-admin token": withBearer(tokenFor(t, e.s, "operator-admin", "")),
		"an operator token":       withBearer(tokenFor(t, e.s, "operator", "")),
		"a tenant-admin token":    withBearer(tokenFor(t, e.s, "tenant-admin", "a")),
		"a node certificate":      n3,
	} {
		if code, _ := e.doWith(cred, "POST", "/v1/agent/enroll", enrollBody(t, "n6"), nil); code != http.StatusForbidden {
			t.Errorf("enrolling with %s: %d, want 403", name, code)
		}
	}
	// Join tokens last a day by default.
	e.clock.add(24*time.Hour + time.Second)
	if code, _ := e.doWith(joinX, "POST", "/v1/agent/enroll", enrollBody(t, "n7"), nil); code != http.StatusUnauthorized {
		t.Errorf("enrolling with a join token a day old: %d, want 401", code)
	}
}

// A tenant-admin grants its own tenant's roles only; a revoked token
// stops at once.
func TestTokenGrants(t *testing.T) {
	e := secEnv(t)
	ta := withBearer(tokenFor(t, e.s, "tenant-admin", "a"))
	for _, c := range []struct {
		req  api.TokenRequest
		want int
	}{
		{api.TokenRequest{Name: "m", Role: "member", Tenant: "a"}, 201},
		{api.TokenRequest{Name: "ta2", Role: "tenant-admin", Tenant: "a"}, 201},
		{api.TokenRequest{Name: "v", Role: "viewer", Tenant: "a"}, 201},
		{api.TokenRequest{Name: "au", Role: "auditor", Tenant: "a", TTLSeconds: 3600}, 201},
		{api.TokenRequest{Name: "mb", Role: "member", Tenant: "b"}, 403},
		{api.TokenRequest{Name: "tab", Role: "tenant-admin", Tenant: "b"}, 403},
		{api.TokenRequest{Name: "op", Role: "operator"}, 403},
		{api.TokenRequest{Name: "adm", Role: "operator-admin"}, 403},
		{api.TokenRequest{Name: "ma", Role: "member"}, 201}, // of a, its own tenant
		{api.TokenRequest{Name: "gv", Role: "viewer"}, 201},
		{api.TokenRequest{Name: "gau", Role: "auditor"}, 201},
		{api.TokenRequest{Name: "j", Role: "join", Site: "x"}, 403},
		{api.TokenRequest{Name: "nd", Role: "node"}, 403},
	} {
		var tok api.Token
		if code, body := e.doWith(ta, "POST", "/v1/tokens", c.req, &tok); code != c.want || (code == 201 && tok.Tenant != "a") {
			t.Errorf("a tenant-admin of a creating %+v: %d %s, want %d and a token of a", c.req, code, body, c.want)
		}
	}
	for _, role := range []string{"member", "viewer", "operator"} {
		tenant := map[string]string{"member": "a", "viewer": "a"}[role]
		if code, _ := e.doWith(withBearer(tokenFor(t, e.s, role, tenant)), "POST", "/v1/tokens",
			api.TokenRequest{Name: "x", Role: "member", Tenant: "a"}, nil); code != http.StatusForbidden {
			t.Errorf("a %s creating a member token: %d, want 403", role, code)
		}
	}

	var m api.Token
	e.doWith(ta, "POST", "/v1/tokens", api.TokenRequest{Name: "m2", Role: "member", Tenant: "a"}, &m)
	var who api.WhoAmI
	if code, _ := e.doWith(withBearer(m.Secret), "GET", "/v1/whoami", nil, &who); code != 200 || who.Role != "member" || who.Tenant != "a" || who.Subject != "token:m2/"+m.ID {
		t.Fatalf("the new member token: %d %+v", code, who)
	}
	// Another tenant's token is not there for a's tenant-admin.
	tb, _ := e.s.MintToken(t.Context(), api.TokenRequest{Name: "mb", Role: "member", Tenant: "b"}, "test")
	if code, _ := e.doWith(ta, "POST", "/v1/tokens/"+tb.ID+"/revoke", nil, nil); code != http.StatusNotFound {
		t.Errorf("a's tenant-admin revoking b's token: %d, want 404", code)
	}
	if code, _ := e.doWith(withBearer(tb.Secret), "GET", "/v1/whoami", nil, nil); code != 200 {
		t.Errorf("b's token after a's tenant-admin tried to revoke it: %d, want 200", code)
	}
	var rv api.Token
	if code, _ := e.doWith(ta, "POST", "/v1/tokens/"+m.ID+"/revoke", nil, &rv); code != 200 || rv.Revoked == nil || rv.Secret != "" {
		t.Fatalf("revoking: %d %+v", code, rv)
	}
	if code, _ := e.doWith(withBearer(m.Secret), "GET", "/v1/whoami", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("a revoked token right after its revocation: %d, want 401", code)
	}
	if code, _ := e.doWith(withBearer(m.Secret), "GET", "/v1/jobs", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("a revoked token listing jobs: %d, want 401", code)
	}
	// Listing: a's tenant-admin sees a's tokens only.
	var tl api.TokenList
	e.doWith(ta, "GET", "/v1/tokens", nil, &tl)
	if len(tl.Tokens) == 0 {
		t.Fatal("a's tenant-admin lists no token")
	}
	for _, tk := range tl.Tokens {
		if tk.Tenant != "a" {
			t.Errorf("a's tenant-admin lists %+v", tk)
		}
	}
}

// syncBuffer is a buffer a logger writes to from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// Token secrets and secret values never show: not in token listings, not
// in events or the audit log, not in logs, not in the database files.
func TestTokenSecretsNeverStored(t *testing.T) {
	e := secEnv(t)
	var logs syncBuffer
	e.s.log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ta := withBearer(tokenFor(t, e.s, "tenant-admin", "a"))
	var minted []api.Token
	for _, c := range []struct {
		cred func(*http.Request) *http.Request
		req  api.TokenRequest
	}{
		{ta, api.TokenRequest{Name: "member-1", Role: "member", Tenant: "a"}},
		{ta, api.TokenRequest{Name: "viewer-1", Role: "viewer", Tenant: "a", TTLSeconds: 60}},
		{withBearer(tokenFor(t, e.s, "operator-admin", "")), api.TokenRequest{Name: "op-1", Role: "operator"}},
		{withBearer(tokenFor(t, e.s, "operator-admin", "")), api.TokenRequest{Name: "join-1", Role: "join", Site: "x"}},
	} {
		var tok api.Token
		if code, body := e.doWith(c.cred, "POST", "/v1/tokens", c.req, &tok); code != 201 || !strings.HasPrefix(tok.Secret, "carnot_") {
			t.Fatalf("creating %+v: %d %s", c.req, code, body)
		}
		minted = append(minted, tok)
	}
	// Use them (a failed use too), and revoke one.
	e.doWith(withBearer(minted[0].Secret), "GET", "/v1/jobs", nil, nil)
	e.doWith(withBearer(minted[0].Secret+"x"), "GET", "/v1/jobs", nil, nil)
	e.doWith(ta, "POST", "/v1/tokens/"+minted[0].ID+"/revoke", nil, nil)
	e.doWith(withBearer(minted[0].Secret), "GET", "/v1/jobs", nil, nil)
	value := "s3cr3t-value-7f0c2b9e41d8a6"
	if code, _ := e.doWith(ta, "PUT", "/v1/secrets/api-key", api.SecretValue{Value: value}, nil); code != 200 {
		t.Fatalf("put secret: %d", code)
	}
	var sl api.SecretList
	if code, body := e.doWith(withBearer(tokenFor(t, e.s, "member", "a")), "GET", "/v1/secrets", nil, &sl); code != 200 ||
		len(sl.Secrets) != 1 || sl.Secrets[0].Name != "api-key" || bytes.Contains(body, []byte(value)) {
		t.Errorf("secrets of a: %d %s", code, body)
	}

	// Every token of this server, the test's own included.
	var secretTexts []string
	for _, tok := range minted {
		secretTexts = append(secretTexts, tok.Secret)
	}
	creds.mu.Lock()
	for _, s := range creds.tokens[e.s] {
		secretTexts = append(secretTexts, s)
	}
	creds.mu.Unlock()
	// needles are what must never show: each token, its secret part
	// alone, and the secret value, raw and in base64 (as JSON encodes
	// bytes).
	needles := []string{value, base64.StdEncoding.EncodeToString([]byte(value))}
	for _, s := range secretTexts {
		_, secret, err := auth.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		needles = append(needles, s, secret)
	}
	absent := func(where string, b []byte) {
		t.Helper()
		for _, n := range needles {
			if bytes.Contains(b, []byte(n)) {
				t.Errorf("%s holds %q", where, n)
			}
		}
	}

	for _, who := range []func(*http.Request) *http.Request{withBearer(tokenFor(t, e.s, "operator-admin", "")), ta} {
		code, body := e.doWith(who, "GET", "/v1/tokens", nil, nil)
		var raw struct{ Tokens []map[string]any }
		if err := json.Unmarshal(body, &raw); code != 200 || err != nil || len(raw.Tokens) == 0 {
			t.Fatalf("list tokens: %d %v %s", code, err, body)
		}
		for _, tk := range raw.Tokens {
			for _, k := range []string{"secret", "hash", "Hash", "Secret"} {
				if _, ok := tk[k]; ok {
					t.Errorf("the token list shows %s: %v", k, tk)
				}
			}
		}
		absent("the token list", body)
	}
	_, events := e.doWith(withBearer(tokenFor(t, e.s, "operator-admin", "")), "GET", "/v1/events", nil, nil)
	if !bytes.Contains(events, []byte("created token member-1")) || !bytes.Contains(events, []byte("set secret api-key")) {
		t.Errorf("the events do not record the tokens and the secret: %s", events)
	}
	absent("GET /v1/events", events)
	_, export := e.get("/v1/audit/export")
	absent("the audit log", export)
	absent("the server's log", logs.Bytes())

	var files []byte
	for _, name := range []string{"carnot.db", "carnot.db-wal", "carnot.db-shm"} {
		b, err := os.ReadFile(filepath.Join(e.dir, name))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		absent(name, b)
		files = append(files, b...)
	}
	// The files are the ones the server writes: they hold the tokens'
	// public IDs and the secret's name.
	for _, known := range []string{minted[0].ID, minted[3].ID, "a/api-key"} {
		if !bytes.Contains(files, []byte(known)) {
			t.Errorf("the database files do not hold %q: the search above proves nothing", known)
		}
	}
}
