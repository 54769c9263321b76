package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/auth"
	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/pki"
	"github.com/carnot-dc/carnot/internal/secrets"
)

// The route census (issue 5): every route answers 401 without
// credentials that hold, and a table gives, for every role and every
// route, what it may do to the things of its own tenant and of another.

// census is the expected outcome of every operation of api.Routes for
// each principal (the columns), on a thing of tenant a (the
// tenant-scoped principals' own tenant) and on a thing of tenant b
// (another's). Each cell is two characters, own then other:
//
//	'+' allowed: 2xx, or a 4xx that is not 401, 403 nor the 404 of a
//	    thing that does not exist (409 cancelling twice, 404 no logs yet)
//	'-' forbidden: 403
//	'h' hidden: 404, the very answer for a thing that does not exist
//
// Facility-wide principals have no own tenant: both columns are things
// of tenants they see. Operations on no tenant's things send the same
// request in both columns.
var census = map[string]string{
	//                   admin operator t-admin member viewer viewer* auditor auditor* join node
	"health":           "++ ++ ++ ++ ++ ++ ++ ++ ++ ++",
	"ready":            "++ ++ ++ ++ ++ ++ ++ ++ ++ ++",
	"openapi":          "++ ++ ++ ++ ++ ++ ++ ++ ++ ++",
	"whoami":           "++ ++ ++ ++ ++ ++ ++ ++ ++ ++",
	"metrics":          "++ ++ -- -- -- ++ -- -- -- --",
	"lastPlan":         "++ ++ -- -- -- ++ -- -- -- --",
	"listNodes":        "++ ++ -- -- -- ++ -- -- -- --",
	"getNode":          "++ ++ -- -- -- ++ -- -- -- --",
	"drainNode":        "++ ++ -- -- -- -- -- -- -- --",
	"undrainNode":      "++ ++ -- -- -- -- -- -- -- --",
	"fenceNode":        "++ -- -- -- -- -- -- -- -- --",
	"unfenceNode":      "++ -- -- -- -- -- -- -- -- --",
	"forgetNode":       "++ -- -- -- -- -- -- -- -- --",
	"reenrollNode":     "++ -- -- -- -- -- -- -- -- --",
	"revokeNode":       "++ -- -- -- -- -- -- -- -- --",
	"submitJob":        "++ -- +- +- -- -- -- -- -- --",
	"submitDeployment": "++ -- +- +- -- -- -- -- -- --",
	"cancelJob":        "++ ++ +h +h -- -- -- -- -- --",
	"checkpointJob":    "++ ++ +h +h -- -- -- -- -- --",
	"listJobs":         "++ ++ +- +- +- ++ -- -- -- --",
	"listDeployments":  "++ ++ +- +- +- ++ -- -- -- --",
	"watch":            "++ ++ +- +- +- ++ -- -- -- --",
	"getJob":           "++ ++ +h +h +h ++ -- -- -- --",
	"jobLogs":          "++ ++ +h +h +h ++ -- -- -- --",
	"jobEvents":        "++ ++ +h +h +h ++ -- -- -- --",
	"whyJob":           "++ ++ +h +h +h ++ -- -- -- --",
	"getDeployment":    "++ ++ +h +h +h ++ -- -- -- --",
	"listSites":        "++ ++ ++ ++ ++ ++ -- -- -- --",
	"listTenants":      "++ ++ ++ ++ ++ ++ -- -- -- --",
	"usage":            "++ ++ ++ ++ ++ ++ -- -- -- --",
	"listEvents":       "++ ++ ++ ++ ++ ++ -- -- -- --",
	"auditCheckpoint":  "++ -- ++ ++ ++ ++ ++ ++ -- --",
	"auditEntries":     "++ -- +- +- +- ++ +- ++ -- --",
	"auditConsistency": "++ -- ++ ++ ++ ++ ++ ++ -- --",
	"auditExport":      "++ -- -- -- -- -- -- ++ -- --",
	"createToken":      "++ -- +- -- -- -- -- -- -- --",
	"listTokens":       "++ -- ++ -- -- -- -- -- -- --",
	"revokeToken":      "++ -- +h -- -- -- -- -- -- --",
	"listSecrets":      "++ -- +- +- -- -- -- -- -- --",
	"putSecret":        "++ -- +- -- -- -- -- -- -- --",
	"deleteSecret":     "++ -- +- -- -- -- -- -- -- --",
	"agentEnroll":      "-- -- -- -- -- -- -- -- ++ --",
	"agentRegister":    "-- -- -- -- -- -- -- -- -- ++",
	"agentHeartbeat":   "-- -- -- -- -- -- -- -- -- ++",
	"agentAssignments": "-- -- -- -- -- -- -- -- -- ++",
}

// principal is a census column: who sends the request.
type principal struct {
	col    string
	role   auth.Role
	tenant string
}

// principals are the census's columns, in order. The join token is of
// site x; the node is n1 of site x, by its certificate.
var principals = []principal{
	{"admin", auth.OperatorAdmin, ""},
	{"operator", auth.Operator, ""},
	{"tenant-admin", auth.TenantAdmin, "a"},
	{"member", auth.Member, "a"},
	{"viewer", auth.Viewer, "a"},
	{"viewer*", auth.Viewer, ""},
	{"auditor", auth.Auditor, "a"},
	{"auditor*", auth.Auditor, ""},
	{"join", auth.Join, ""},
	{"node", auth.Node, ""},
}

// Outcomes a census cell can observe besides its three expectations.
const (
	outUnauth       = '!' // 401
	outError        = 'E' // 5xx
	outOperatorOnly = 'o' // the tenant listener's 404 for an operator-only route
)

// ghostID names no job and no token.
const ghostID = "j-doesnotexist000"

// TestCensusCoversRoutes fails when api.Routes has an operation without
// a census row, or the census a row that is no route, or a malformed
// row.
func TestCensusCoversRoutes(t *testing.T) {
	ops := map[string]bool{}
	for _, rt := range api.Routes {
		ops[rt.Op] = true
		if _, ok := census[rt.Op]; !ok {
			t.Errorf("%s %s (%s): no row in the census: add one with the expected outcome for every role", rt.Method, rt.Path, rt.Op)
		}
	}
	for op, row := range census {
		if !ops[op] {
			t.Errorf("census row %q is no operation of api.Routes", op)
		}
		cells := strings.Fields(row)
		if len(cells) != len(principals) {
			t.Errorf("census row %q: %d cells, want one per principal (%d)", op, len(cells), len(principals))
		}
		for _, c := range cells {
			if len(c) != 2 || strings.Trim(c, "+-h") != "" {
				t.Errorf("census row %q: cell %q, want two of + - h", op, c)
			}
		}
	}
}

// secEnv is a server of a facility of two sites (x in France, y in
// Germany) and tenants default, a and b, with an audit signer, a CA for
// enrollments and a secrets key; node n1 is registered in site x.
func secEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, twoSitesAB(), true)
	signer, _ := auditKeys(t)
	a, err := newAuditor("carnot audit census", signer)
	if err != nil {
		t.Fatal(err)
	}
	e.s.audit = a
	e.s.cfg.CA = testCA(t)
	e.s.cfg.Secrets = testSecretsKey(t)
	if code := e.register("n1", "x", 8); code != http.StatusOK {
		t.Fatalf("register n1: %d", code)
	}
	return e
}

// twoSitesAB is the development facility with site x in France and a
// site y in Germany, and tenants a and b beside default.
func twoSitesAB() *model.Facility {
	fac := DevFacility("x", "FR")
	y := fac.Sites[0]
	y.ID, y.Country, y.GridZone, y.Jurisdictions = "y", "DE", "DE", facility.DefaultJurisdictions("DE")
	fac.Sites = append(fac.Sites, y)
	fac.Halls = append(fac.Halls, model.Hall{ID: "y-hall", Site: "y", Cooling: model.CoolingAir})
	fac.Tenants = append(fac.Tenants, model.Tenant{Name: "a", FairShareWeight: 1}, model.Tenant{Name: "b", FairShareWeight: 1})
	return fac
}

// testSecretsKey is a secrets key file held in memory.
func testSecretsKey(t testing.TB) *secrets.KeyFile {
	t.Helper()
	k := sha256.Sum256([]byte("carnot census secrets key"))
	kf, err := secrets.ParseKeyFile("census.keys", []byte("k1 "+base64.StdEncoding.EncodeToString(k[:])+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	return kf
}

// jobOf is a job spec of tenant.
func jobOf(tenant string) map[string]any {
	s := spec(1, 1)
	s["tenant"] = tenant
	return s
}

// fixture holds the things the census's requests point at.
type fixture struct {
	e    *env
	jobs map[string]string // tenant → a pending job
	deps map[string]string // tenant → a pending deployment
	join map[string]string // site → a join token
	n    int               // for fresh names
	// jobTok is the job principal's job token (census_job_test.go).
	jobTok string
}

// newFixture is secEnv after one scheduling pass that started a job of
// tenant default (so that /v1/plan has a plan), with a pending job and a
// pending deployment of tenants a and b, and join tokens of sites x and
// y.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{e: secEnv(t), jobs: map[string]string{}, deps: map[string]string{}, join: map[string]string{}}
	f.e.submit(spec(1, 1)) // a pass that starts it leaves a plan
	f.e.pass()
	for _, tn := range []string{"a", "b"} {
		f.jobs[tn] = f.e.submit(jobOf(tn))
		var d api.Job
		if code := f.e.do("POST", "/v1/deployments", jobOf(tn), &d); code != http.StatusCreated {
			t.Fatalf("deployment of %s: %d", tn, code)
		}
		f.deps[tn] = d.ID
	}
	for _, site := range []string{"x", "y"} {
		tok, err := f.e.s.MintToken(context.Background(), api.TokenRequest{Name: "join-" + site, Role: "join", Site: site}, "test")
		if err != nil {
			t.Fatal(err)
		}
		f.join[site] = tok.Secret
	}
	return f
}

func (f *fixture) fresh(prefix string) string {
	f.n++
	return fmt.Sprintf("%s%d", prefix, f.n)
}

// as makes req come from p.
func (f *fixture) as(t *testing.T, req *http.Request, p principal) *http.Request {
	switch p.role {
	case auth.Node:
		return asNode(t, req, "x", "n1")
	case auth.Join:
		req.Header.Set("Authorization", "Bearer "+f.join["x"])
	case auth.Job:
		req.Header.Set("Authorization", "Bearer "+f.jobTok)
	default:
		req.Header.Set("Authorization", "Bearer "+tokenFor(t, f.e.s, string(p.role), p.tenant))
	}
	return req
}

// enrollBody is an enrollment of node with a CSR of a new key.
func enrollBody(t testing.TB, node string) api.Enroll {
	key, err := pki.NewNodeKey()
	if err != nil {
		t.Fatal(err)
	}
	csr, err := pki.NodeCSR(key, node)
	if err != nil {
		t.Fatal(err)
	}
	return api.Enroll{Node: node, CSR: string(csr)}
}

// target is the request of a census cell: rt's path and body pointing
// at things of tenant, fresh ones where the request changes them.
func (f *fixture) target(t *testing.T, rt api.Route, tenant string) (path string, body any) {
	path = rt.Path
	sub := func(param, v string) { path = strings.Replace(path, param, v, 1) }
	switch rt.Op {
	case "getJob", "jobLogs", "jobEvents", "whyJob", "checkpointJob":
		sub("{id}", f.jobs[tenant])
	case "getDeployment":
		sub("{id}", f.deps[tenant])
	case "cancelJob":
		sub("{id}", f.e.submit(jobOf(tenant)))
	case "submitJob", "submitDeployment":
		body = jobOf(tenant)
	case "listJobs", "listDeployments", "watch", "auditEntries", "listSecrets":
		path += "?tenant=" + tenant
	case "auditConsistency":
		path += "?old=1"
	case "getNode", "drainNode", "undrainNode", "unfenceNode", "forgetNode", "revokeNode", "agentAssignments":
		sub("{name}", "n1")
	case "fenceNode", "reenrollNode":
		// n1 reports and runs work: without force, a refusal
		sub("{name}", "n1")
		path += "?force=true"
	case "agentHeartbeat":
		sub("{name}", "n1")
		body = api.Heartbeat{}
	case "agentRegister":
		reg := api.Register{Name: "n1", Site: "x", Address: "http://127.0.0.1:1", CPUs: 32, MemoryGiB: 256}
		for i := range 8 {
			reg.GPUs = append(reg.GPUs, api.GPUInfo{Index: i, Model: "H100"})
		}
		body = reg
	case "agentEnroll":
		body = enrollBody(t, f.fresh("e"))
	case "createToken":
		body = api.TokenRequest{Name: "census", Role: "member", Tenant: tenant}
	case "revokeToken":
		tok, err := f.e.s.MintToken(context.Background(), api.TokenRequest{Name: f.fresh("r"), Role: "member", Tenant: tenant}, "test")
		if err != nil {
			t.Fatal(err)
		}
		sub("{id}", tok.ID)
	case "putSecret":
		sub("{name}", "census")
		body = api.SecretValue{Tenant: tenant, Value: "v"}
	case "deleteSecret":
		name := f.fresh("d")
		if code := f.e.do("PUT", "/v1/secrets/"+name, api.SecretValue{Tenant: tenant, Value: "v"}, nil); code != http.StatusOK {
			t.Fatalf("put secret %s of %s: %d", name, tenant, code)
		}
		sub("{name}", name)
		path += "?tenant=" + tenant
	}
	return path, body
}

// flushCancel ends a stream (GET /v1/watch) at its first flush.
type flushCancel struct {
	*httptest.ResponseRecorder
	cancel context.CancelFunc
}

func (w flushCancel) Flush() {
	w.ResponseRecorder.Flush()
	w.cancel()
}

// send sends a request to h as set by cred, checks that its status is
// documented, and returns the answer.
func (f *fixture) send(t *testing.T, h http.Handler, method, path string, body any, cred func(*http.Request) *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	ctx, cancel := context.WithCancel(req.Context())
	defer cancel()
	req = cred(req.WithContext(ctx))
	w := flushCancel{httptest.NewRecorder(), cancel}
	h.ServeHTTP(w, req)
	checkDocumented(t, f.e.s.mux, req, w.Code)
	checkProblem(t, req, w.ResponseRecorder)
	return w.ResponseRecorder
}

// checkProblem fails the test when an error answer is not a problem
// document (RFC 9457) of its status, with a named type and a title.
func checkProblem(t *testing.T, req *http.Request, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code < 400 {
		return
	}
	var p api.Problem
	err := json.Unmarshal(w.Body.Bytes(), &p)
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" || err != nil ||
		p.Status != w.Code || p.Title == "" || !strings.HasPrefix(p.Type, api.ProblemType) || p.Type == api.ProblemType {
		t.Errorf("%s %s: %d with Content-Type %q and %q (%v), want a problem document of its status, type and title",
			req.Method, req.URL, w.Code, ct, w.Body.String(), err)
	}
}

func detail(w *httptest.ResponseRecorder) string {
	var p api.Problem
	json.Unmarshal(w.Body.Bytes(), &p)
	return p.Detail
}

// outcome classifies an answer to a request of p on rt: a 404 is hidden
// when it is the very answer p gets for a thing that does not exist.
func (f *fixture) outcome(t *testing.T, h http.Handler, p principal, rt api.Route, path string, w *httptest.ResponseRecorder) byte {
	switch {
	case w.Code == http.StatusUnauthorized:
		return outUnauth
	case w.Code == http.StatusForbidden:
		return '-'
	case w.Code >= 500:
		return outError
	case w.Code == http.StatusNotFound && strings.Contains(detail(w), "operator listener only"):
		return outOperatorOnly
	case w.Code == http.StatusNotFound && strings.Contains(rt.Path, "{id}"):
		ghost := strings.Replace(rt.Path, "{id}", ghostID, 1)
		g := f.send(t, h, rt.Method, ghost, nil, func(r *http.Request) *http.Request { return f.as(t, r, p) })
		id := pathParam(rt.Path, path, "{id}")
		if g.Code == http.StatusNotFound && strings.ReplaceAll(detail(g), ghostID, id) == detail(w) {
			return 'h'
		}
	}
	return '+'
}

// pathParam is the segment of path that param is in pattern.
func pathParam(pattern, path, param string) string {
	path, _, _ = strings.Cut(path, "?")
	segs := strings.Split(path, "/")
	for i, p := range strings.Split(pattern, "/") {
		if p == param && i < len(segs) {
			return segs[i]
		}
	}
	return ""
}

// pendingAnswer is what an allowed request answers on the fixture's
// pending jobs when not 2xx: no checkpoint to acknowledge, no logs yet.
// Every other allowed cell must answer 2xx.
var pendingAnswer = map[string]int{"checkpointJob": http.StatusConflict, "jobLogs": http.StatusNotFound,
	"forgetNode":   http.StatusConflict, // the fixture's node is ready
	"reenrollNode": http.StatusNotFound, // and registered without enrolling
	"revokeNode":   http.StatusNotFound}

// runCensus sends every cell's request to h; want maps an operation and
// the census's expectation to what h must answer.
func runCensus(t *testing.T, f *fixture, h http.Handler, want func(op string, cell byte) byte) int {
	cells := 0
	for _, rt := range api.Routes {
		row := strings.Fields(census[rt.Op])
		if len(row) != len(principals) {
			t.Errorf("%s: no census row (TestCensusCoversRoutes)", rt.Op)
			continue
		}
		for i, p := range principals {
			for k, tenant := range []string{"a", "b"} {
				path, body := f.target(t, rt, tenant)
				w := f.send(t, h, rt.Method, path, body, func(r *http.Request) *http.Request { return f.as(t, r, p) })
				got, exp := f.outcome(t, h, p, rt, path, w), want(rt.Op, row[i][k])
				cells++
				if got == '+' && exp == '+' && w.Code >= 300 && w.Code != pendingAnswer[rt.Op] {
					t.Errorf("%s as %s on a thing of tenant %s (%s %s): allowed, but %d %s: the census's request is not a valid one",
						rt.Op, p.col, tenant, rt.Method, path, w.Code, strings.TrimSpace(w.Body.String()))
				}
				if got != exp {
					t.Errorf("%s as %s on a thing of tenant %s (%s %s): got %c, want %c: %d %s",
						rt.Op, p.col, tenant, rt.Method, path, got, exp, w.Code, strings.TrimSpace(w.Body.String()))
				}
			}
		}
	}
	return cells
}

// Every cell of the census, on the operator listener, which serves
// every route.
func TestCensusRoles(t *testing.T) {
	f := newFixture(t)
	n := runCensus(t, f, f.e.s.Handler(), func(_ string, cell byte) byte { return cell })
	t.Logf("%d cells: %d operations × %d principals × own/other tenant", n, len(api.Routes), len(principals))
}

// The tenant listener answers every operator-only operation (auth.AdminOnly)
// 404, whoever asks, even an operator-admin or the node or join token
// it is for; it serves every other operation as the operator listener
// does.
func TestCensusTenantListener(t *testing.T) {
	f := newFixture(t)
	adminOnly := 0
	for _, rt := range api.Routes {
		if auth.AdminOnly(rt.Op) {
			adminOnly++
		}
	}
	if adminOnly == 0 {
		t.Fatal("no operator-only operation")
	}
	runCensus(t, f, f.e.s.TenantHandler(), func(op string, cell byte) byte {
		if auth.AdminOnly(op) {
			return outOperatorOnly
		}
		return cell
	})
	// The listener says which it is.
	for h, want := range map[http.Handler]string{f.e.s.Handler(): "operator", f.e.s.TenantHandler(): "tenant"} {
		w := f.send(t, h, "GET", "/v1/whoami", nil, func(r *http.Request) *http.Request { return asAdmin(t, f.e.s, r) })
		var who api.WhoAmI
		if err := json.Unmarshal(w.Body.Bytes(), &who); err != nil || who.Listener != want || who.Role != "operator-admin" {
			t.Errorf("whoami on the %s listener: %d %+v %v", want, w.Code, who, err)
		}
	}
}

// Every route, on both listeners, answers 401 to a request without
// credentials that hold: none, a malformed token, another scheme, an
// unknown token, a known token ID with the wrong secret, an expired
// token, a revoked token, and a client certificate that TLS did not
// verify.
func TestCensusUnauthenticated(t *testing.T) {
	f := newFixture(t)
	e := f.e
	ctx := context.Background()
	expiring, err := e.s.MintToken(ctx, api.TokenRequest{Name: "expiring", Role: "operator-admin", TTLSeconds: 60}, "test")
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := e.s.MintToken(ctx, api.TokenRequest{Name: "revoked", Role: "operator-admin"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	whoami := func(tok string) int {
		return f.send(t, e.s.Handler(), "GET", "/v1/whoami", nil, func(r *http.Request) *http.Request {
			r.Header.Set("Authorization", "Bearer "+tok)
			return r
		}).Code
	}
	if whoami(expiring.Secret) != 200 || whoami(revoked.Secret) != 200 {
		t.Fatal("the tokens do not work before they expire or are revoked")
	}
	if code := e.do("POST", "/v1/tokens/"+revoked.ID+"/revoke", nil, nil); code != http.StatusOK {
		t.Fatalf("revoke: %d", code)
	}
	e.clock.add(61 * time.Second)
	other, err := auth.NewHasher(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	unknown, _, _ := other.Mint()
	wrongSecret, _, _ := other.Mint()
	known := tokenFor(t, e.s, "operator-admin", "")
	wrongSecret = known[:len("carnot_")+17] + wrongSecret[len("carnot_")+17:]
	// A node certificate the TLS handshake did not verify (a client
	// that sent one the CA did not sign, with a server that requests
	// but does not require certificates).
	cert := nodeCert(t, "x", "n1")
	header := func(v string) func(*http.Request) *http.Request {
		return func(r *http.Request) *http.Request { r.Header.Set("Authorization", v); return r }
	}
	creds := []struct {
		name string
		set  func(*http.Request) *http.Request
	}{
		{"no credentials", func(r *http.Request) *http.Request { return r }},
		{"malformed token", header("Bearer carnot_nope")},
		{"empty bearer", header("Bearer ")},
		{"basic scheme", header("Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+known)))},
		{"token without scheme", header(known)},
		{"unknown token", header("Bearer " + unknown)},
		{"wrong secret", header("Bearer " + wrongSecret)},
		{"expired token", header("Bearer " + expiring.Secret)},
		{"revoked token", header("Bearer " + revoked.Secret)},
		{"unverified certificate", func(r *http.Request) *http.Request {
			r.TLS = &tls.ConnectionState{HandshakeComplete: true, PeerCertificates: []*x509.Certificate{cert}}
			return r
		}},
	}
	n := 0
	for name, h := range map[string]http.Handler{"operator": e.s.Handler(), "tenant": e.s.TenantHandler()} {
		for _, rt := range api.Routes {
			path := strings.NewReplacer("{id}", f.jobs["a"], "{name}", "n1").Replace(rt.Path)
			for _, c := range creds {
				n++
				w := f.send(t, h, rt.Method, path, nil, c.set)
				if w.Code != http.StatusUnauthorized || !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") || detail(w) == "" {
					t.Errorf("%s listener, %s %s with %s: %d (WWW-Authenticate %q) %s, want 401",
						name, rt.Method, path, c.name, w.Code, w.Header().Get("WWW-Authenticate"), w.Body.String())
				}
			}
		}
	}
	t.Logf("%d requests", n)
}
