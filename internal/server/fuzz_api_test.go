package server

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/pki"
	"github.com/carnot-dc/carnot/internal/secrets"
)

// Fuzz targets for the API's request decoders (FuzzSubmit, in
// review_test.go, covers job submissions): whatever the body, the server
// answers without panicking, with a status openapi.json documents for
// the route, never a 5xx, and a problem document on error; what it
// accepts holds.

// serveFuzz sends req, whose body is body, to s's operator listener and
// checks the answer: documented, no 5xx, a problem document on error,
// and a body that is not one JSON value refused.
func serveFuzz(t *testing.T, s *Server, req *http.Request, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	checkDocumented(t, s.mux, req, w.Code)
	checkProblem(t, req, w)
	if w.Code >= 500 {
		t.Fatalf("%s %s: %d %s", req.Method, req.URL, w.Code, w.Body.String())
	}
	if w.Code < 300 && !json.Valid(body) {
		t.Fatalf("%s %s: %d for %q, which is not one JSON value", req.Method, req.URL, w.Code, body)
	}
	return w
}

// registerBody is a valid registration of name in site with gpus H100s.
func registerBody(name, site string, gpus int) []byte {
	reg := api.Register{Name: name, Site: site, Address: "http://127.0.0.1:1", CPUs: 32, MemoryGiB: 256}
	for i := range gpus {
		reg.GPUs = append(reg.GPUs, api.GPUInfo{Index: i, Model: "H100"})
	}
	b, _ := json.Marshal(reg)
	return b
}

// FuzzRegister: POST /v1/agent/register from a node. With own set, the
// node's certificate names what the body claims (when those are names);
// else it is node n1 of site local. A registration is accepted only for
// the certificate's own name and site, and puts the node there.
func FuzzRegister(f *testing.F) {
	for _, s := range []string{
		string(registerBody("n1", "local", 8)),
		string(registerBody("n1", "local", 0)),
		string(registerBody("n1", "elsewhere", 8)),
		string(registerBody("n2", "local", 8)),
		`{"name":"n1","site":"local","address":"http://127.0.0.1:1","cpus":8,"memory_gib":64,"gpus":[{"index":0,"model":"H100"},{"index":0,"model":"H100"}]}`,
		`{"name":"n1","site":"local","address":"http://127.0.0.1:1","cpus":8,"memory_gib":64,"gpus":[{"index":0,"model":"H100"},{"index":1,"model":"B200"}]}`,
		`{"name":"n1","site":"local","address":"ftp://x","cpus":-1,"memory_gib":-1}`,
		`{"name":"n1","site":"local","address":"http://127.0.0.1:1","cpus":8,"memory_gib":64,"gpus":[{"index":0,"model":"NOPE"}]}`,
		`{"name":"n1","site":"local","address":"http://127.0.0.1:1","cpus":8,"memory_gib":64,"tasks":[{"job":"j-x","replica":-1,"attempt":1,"state":"running"}]}`,
		`{"name":"../n1","site":"local"}`, `{"name":"n1","site":"local/../x"}`, `{"name":"","site":""}`,
		`{"name":"n1","site":"local","cpus":1e400}`, `{"name":"n1","site":"local","extra":1}`,
		`{"name":"n1","name":"n2","site":"local"}`, `{"name":"n1","site":"local"} }`, `{"name":"n1","site":"local"}]`, `{}`, `null`, `[]`, ``, `{"name":"n1"}{}`, "{\"name\":\"\xff\"}",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	s := fuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte, own bool) {
		site, name := "local", "n1"
		var reg api.Register
		if own && json.Unmarshal(body, &reg) == nil && pki.CheckName(reg.Site) == nil && pki.CheckName(reg.Name) == nil {
			site, name = reg.Site, reg.Name
		}
		req := asNode(t, httptest.NewRequest("POST", "/v1/agent/register", bytes.NewReader(body)), site, name)
		w := serveFuzz(t, s, req, body)
		if w.Code != http.StatusOK {
			return
		}
		if err := json.Unmarshal(body, &reg); err != nil || reg.Name != name || reg.Site != site {
			t.Fatalf("node %s of site %s registered with %q (%v)", name, site, body, err)
		}
		s.mu.Lock()
		n := s.nodes[name]
		s.mu.Unlock()
		if n == nil || n.doc.Site != site || !n.registered {
			t.Fatalf("registered %q, but the server has node %s as %+v", body, name, n)
		}
	})
}

// FuzzHeartbeat: POST /v1/agent/nodes/n1/heartbeat from n1, which runs
// job fz of tenant default.
func FuzzHeartbeat(f *testing.F) {
	for _, s := range []string{
		`{"tasks":[],"gpus":[]}`,
		`{"tasks":[{"job":"fz","replica":0,"attempt":1,"state":"running","pid":7}]}`,
		`{"tasks":[{"job":"fz","replica":0,"attempt":1,"state":"exited","exit_code":0}]}`,
		`{"tasks":[{"job":"fz","replica":0,"attempt":1,"state":"failed","signal":"KILL","error":"oom"}]}`,
		`{"tasks":[{"job":"fz","replica":9,"attempt":1,"state":"exited"},{"job":"fz","replica":-1,"attempt":-1,"state":"running"}]}`,
		`{"tasks":[{"job":"fz","replica":0,"attempt":1,"state":"running","started_at":"0001-01-01T00:00:00Z","ended_at":"9999-12-31T23:59:59Z"}]}`,
		`{"gpus":[{"index":0,"time":"2026-03-02T10:00:00Z","power_w":700,"utilization":100,"mem_used_mib":1,"temp_c":60}]}`,
		`{"gpus":[{"index":0,"power_w":-1},{"index":0},{"index":8},{"index":-1,"temp_c":-300}]}`,
		`{"gpus":[{"index":0,"power_w":1e308,"utilization":1e308}]}`, `{"gpus":[{"index":0,"power_w":1e400}]}`,
		`{"tasks":null,"gpus":null}`, `{"tasks":{}}`, `{"extra":1}`, `{}`, `null`, ``, `[]`, `{}{}`, "\xff",
	} {
		f.Add([]byte(s))
	}
	s := fuzzServer(f)
	reg := asNode(f, httptest.NewRequest("POST", "/v1/agent/register", bytes.NewReader(registerBody("n1", "local", 8))), "local", "n1")
	sub := asAdmin(f, s, httptest.NewRequest("POST", "/v1/jobs", bytes.NewReader([]byte(`{"id":"fz","tenant":"default","gpus":1,"command":["x"]}`))))
	for _, req := range []*http.Request{reg, sub} {
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		if w.Code >= 300 {
			f.Fatalf("setup: %s %s: %d %s", req.Method, req.URL, w.Code, w.Body.String())
		}
	}
	s.pass(context.Background())
	if js := s.jobs["fz"]; js == nil || js.alloc == nil {
		f.Fatal("setup: job fz did not start on n1")
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := asNode(t, httptest.NewRequest("POST", "/v1/agent/nodes/n1/heartbeat", bytes.NewReader(body)), "local", "n1")
		serveFuzz(t, s, req, body)
	})
}

// FuzzTokenRequest: POST /v1/tokens as an operator-admin. A token
// created authenticates, now, as what it was created for.
func FuzzTokenRequest(f *testing.F) {
	for _, s := range []string{
		`{"name":"ci","role":"operator"}`,
		`{"name":"m","role":"member","tenant":"default"}`,
		`{"name":"v","role":"viewer"}`, `{"name":"a","role":"auditor","tenant":"default","ttl_seconds":60}`,
		`{"name":"j","role":"join","site":"local"}`, `{"name":"j","role":"join","site":"local","ttl_seconds":1}`,
		`{"name":"j","role":"join"}`, `{"name":"j","role":"join","site":"nowhere"}`,
		`{"name":"m","role":"member"}`, `{"name":"m","role":"member","tenant":"nobody"}`,
		`{"name":"o","role":"operator","tenant":"default"}`, `{"name":"o","role":"operator","site":"local"}`,
		`{"name":"n","role":"node"}`, `{"name":"r","role":"root"}`, `{"name":"","role":"operator"}`,
		`{"name":"x y","role":"operator"}`, `{"name":"../x","role":"operator"}`,
		`{"name":"t","role":"operator","ttl_seconds":-1}`,
		`{"name":"t","role":"operator","ttl_seconds":9223372036854775807}`,
		`{"name":"t","role":"operator","ttl_seconds":9300000000}`,
		`{"name":"t","role":"operator","ttl_seconds":1e400}`, `{"name":"t","role":"operator","ttl_seconds":"1"}`,
		`{"name":"t","role":"operator","secret":"carnot_x"}`, `{"name":"t","role":"operator","hash":"AA=="}`,
		`{"name":"t","role":"operator"} }`, `{}`, `null`, ``, `[]`, `{}{}`, "\xff",
	} {
		f.Add([]byte(s))
	}
	s := fuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		req := asAdmin(t, s, httptest.NewRequest("POST", "/v1/tokens", bytes.NewReader(body)))
		w := serveFuzz(t, s, req, body)
		if w.Code != http.StatusCreated {
			return
		}
		var tok api.Token
		if err := json.Unmarshal(w.Body.Bytes(), &tok); err != nil || tok.Secret == "" {
			t.Fatalf("%q: 201 %s (%v)", body, w.Body.String(), err)
		}
		p, ok := s.Authenticates(context.Background(), tok.Secret)
		if !ok || string(p.Role) != tok.Role || p.Tenant != tok.Tenant || p.Site != tok.Site {
			t.Fatalf("%q: created %s, which authenticates %v as %+v", body, w.Body.String(), ok, p)
		}
		// It expires when asked: ttl_seconds after its creation (a day
		// for a join token without one), never otherwise.
		var tr api.TokenRequest
		json.Unmarshal(body, &tr)
		if tr.TTLSeconds == 0 && tok.Role == "join" {
			tr.TTLSeconds = 24 * 3600
		}
		switch {
		case tr.TTLSeconds == 0 && tok.Expires != nil:
			t.Fatalf("%q: no ttl_seconds, but the token expires %v", body, tok.Expires)
		case tr.TTLSeconds > 0 && (tok.Expires == nil || tok.Expires.Unix()-tok.Created.Unix() != tr.TTLSeconds):
			t.Fatalf("%q: ttl_seconds %d, but the token expires %v (created %v)", body, tr.TTLSeconds, tok.Expires, tok.Created)
		}
	})
}

// FuzzEnroll: POST /v1/agent/enroll with a join token of site local. A
// certificate issued names the body's node in site local, whatever the
// CSR asks.
func FuzzEnroll(f *testing.F) {
	valid, _ := json.Marshal(enrollBody(f, "n1"))
	other, _ := json.Marshal(enrollBody(f, "n2"))
	var b api.Enroll
	json.Unmarshal(other, &b)
	b.Node = "n1"
	mismatch, _ := json.Marshal(b)
	for _, s := range []string{
		string(valid), string(other), string(mismatch),
		`{"node":"n1","csr":""}`, `{"node":"n1","csr":"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"}`,
		`{"node":"local/../n1","csr":""}`, `{"node":"","csr":""}`, `{"node":"n1"}`, `{"csr":"x"}`,
		`{"node":"n1","csr":"x","site":"other"}`, `{"node":1}`, `{}`, `null`, ``, `[]`, `{}{}`, "\xff",
	} {
		f.Add([]byte(s))
	}
	s := fuzzServer(f)
	s.cfg.CA = testCA(f)
	join, err := s.MintToken(context.Background(), api.TokenRequest{Name: "join", Role: "join", Site: "local"}, "test")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/v1/agent/enroll", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+join.Secret)
		w := serveFuzz(t, s, req, body)
		if w.Code != http.StatusOK {
			return
		}
		var in api.Enroll
		var out api.Enrolled
		if json.Unmarshal(body, &in) != nil || json.Unmarshal(w.Body.Bytes(), &out) != nil {
			t.Fatalf("%q: 200 %s", body, w.Body.String())
		}
		blk, _ := pem.Decode([]byte(out.Certificate))
		if blk == nil {
			t.Fatalf("%q: certificate %q", body, out.Certificate)
		}
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		site, node, err := pki.NodeIdentity(cert)
		if err != nil || site != "local" || node != in.Node || out.Node != in.Node || out.Site != "local" {
			t.Fatalf("%q: enrolled (%q, %q) %v, answer %s/%s, want (local, %q)", body, site, node, err, out.Site, out.Node, in.Node)
		}
	})
}

// FuzzSecretPut: PUT /v1/secrets/{name} as an operator-admin. A secret
// set is stored sealed: its record opens, under its tenant and name, to
// the value, and does not hold it in clear.
func FuzzSecretPut(f *testing.F) {
	for _, c := range []struct{ name, body string }{
		{"db-password", `{"tenant":"default","value":"hunter2-very-secret"}`},
		{"k", `{"tenant":"default","value":""}`},
		{"k", `{"value":"v"}`},
		{"k", `{"tenant":"nobody","value":"v"}`},
		{"k", `{"tenant":"default","value":"` + string(bytes.Repeat([]byte("x"), 4096)) + `"}`},
		{"k", `{"tenant":"default","value":"\u0000\ud800"}`},
		{"k", `{"tenant":"default","value":1}`},
		{"k", `{"tenant":"default","value":"v","name":"other"}`},
		{"a/b", `{"tenant":"default","value":"v"}`},
		{"..%2f", `{"tenant":"default","value":"v"}`},
		{"-x", `{"tenant":"default","value":"v"}`},
		{string(bytes.Repeat([]byte("n"), 200)), `{"tenant":"default","value":"v"}`},
		{"é", `{"tenant":"default","value":"v"}`},
		{"k", `{}`}, {"k", `null`}, {"k", ``}, {"k", `[]`}, {"k", `{}{}`}, {"k", "\xff"},
	} {
		f.Add(c.name, []byte(c.body))
	}
	s := fuzzServer(f)
	s.cfg.Secrets = testSecretsKey(f)
	f.Fuzz(func(t *testing.T, name string, body []byte) {
		if name == "" || name == "." || name == ".." {
			t.Skip("not a path of the route")
		}
		req := asAdmin(t, s, httptest.NewRequest("PUT", "/v1/secrets/"+url.PathEscape(name), bytes.NewReader(body)))
		w := serveFuzz(t, s, req, body)
		if w.Code != http.StatusOK {
			return
		}
		var v api.SecretValue
		var out api.Secret
		if json.Unmarshal(body, &v) != nil || json.Unmarshal(w.Body.Bytes(), &out) != nil || out.Name != name || out.Tenant != v.Tenant {
			t.Fatalf("%q %q: 200 %s", name, body, w.Body.String())
		}
		doc, err := s.store.Record(context.Background(), recSecret, out.Tenant+"/"+name)
		if err != nil {
			t.Fatalf("%q: set, but %v", name, err)
		}
		var sec sealedSecret
		if err := json.Unmarshal(doc, &sec); err != nil {
			t.Fatal(err)
		}
		got, err := secrets.Open(context.Background(), s.cfg.Secrets, sec.Sealed, secretAAD(out.Tenant, name))
		if err != nil || string(got) != v.Value {
			t.Fatalf("%q: the stored secret opens to %q, %v; want %q", name, got, err, v.Value)
		}
		if len(v.Value) >= 8 && (bytes.Contains(doc, []byte(v.Value)) || bytes.Contains(sec.Sealed, []byte(v.Value))) {
			t.Fatalf("%q: the record holds the value in clear", name)
		}
	})
}
