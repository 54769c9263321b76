package server

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/audit"
)

func auditKeys(t *testing.T) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, "carnot-test")
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func (e *env) get(path string) (int, []byte) {
	req := httptest.NewRequest("GET", path, nil)
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	return w.Code, w.Body.Bytes()
}

// The audit log holds every committed event; its export verifies with the
// verifier key, a tampered one does not, and after a restart the log is
// consistent with a checkpoint signed before.
func TestAuditLog(t *testing.T) {
	signer, verifier := auditKeys(t)
	e := newEnv(t, DevFacility("local", "FR"), true)
	a, err := newAuditor("carnot audit dev", signer)
	if err != nil {
		t.Fatal(err)
	}
	e.s.audit = a
	e.register("n1", "local", 8)
	id := e.submit(spec(2, 1))
	e.pass()
	e.report("n1", running(id, 0, 1))
	e.report("n1", exited(id, 0, 1, 0))
	code, ck := e.get("/v1/audit/checkpoint")
	if code != 200 {
		t.Fatalf("checkpoint: %d %s", code, ck)
	}
	code, export := e.get("/v1/audit/export")
	if code != 200 {
		t.Fatalf("export: %d", code)
	}
	res, err := audit.Verify(bytes.NewReader(export), verifier, ck)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	// node registered, submitted, started, replica running, running,
	// replica exited, finished
	if res.Entries < 7 {
		t.Errorf("%d entries, want the 7 events at least", res.Entries)
	}
	for _, want := range []string{`"action":"submitted"`, `"action":"started","detail":"attempt 1`, `"actor":"scheduler"`, `"action":"finished"`} {
		if !bytes.Contains(export, []byte(want)) {
			t.Errorf("export lacks %s", want)
		}
	}
	// The tenant's own entries, each proven in the signed tree.
	var mine api.AuditEntries
	if code := e.do("GET", "/v1/audit/entries?tenant=default", nil, &mine); code != 200 {
		t.Fatalf("entries: %d", code)
	}
	if len(mine.Entries) < 5 {
		t.Fatalf("%d entries of tenant default, want its job's events", len(mine.Entries))
	}
	for _, ae := range mine.Entries {
		entry, err := audit.ParseEntry(ae.Entry)
		if err != nil {
			t.Fatal(err)
		}
		if entry.Tenant != "default" {
			t.Errorf("entry of tenant %q listed for default", entry.Tenant)
		}
		proof := make(tlog.RecordProof, len(ae.Proof))
		for i, p := range ae.Proof {
			b, _ := base64.StdEncoding.DecodeString(p)
			copy(proof[i][:], b)
		}
		if _, err := audit.VerifyInclusion(entry, proof, []byte(mine.Checkpoint), verifier); err != nil {
			t.Errorf("entry %d: %v", entry.Seq, err)
		}
		entry.Detail += "!"
		if _, err := audit.VerifyInclusion(entry, proof, []byte(mine.Checkpoint), verifier); !errors.Is(err, audit.ErrNotIncluded) {
			t.Errorf("a changed entry %d: %v, want ErrNotIncluded", entry.Seq, err)
		}
	}
	tampered := bytes.Replace(export, []byte(`"action":"started"`), []byte(`"action":"startex"`), 1)
	if _, err := audit.Verify(bytes.NewReader(tampered), verifier, nil); !errors.Is(err, audit.ErrModified) {
		t.Errorf("tampered export: %v, want ErrModified", err)
	}

	// Restart: the tree is rebuilt from the store and extends the old one.
	id2 := e.submit(spec(1, 1))
	e.s.store.Close()
	e2 := openEnv(t, e.dir, DevFacility("local", "FR"), true, e.clock)
	a2, err := newAuditor("carnot audit dev", signer)
	if err != nil {
		t.Fatal(err)
	}
	e2.s.audit = a2
	e2.pass()
	_, export2 := e2.get("/v1/audit/export")
	res2, err := audit.Verify(bytes.NewReader(export2), verifier, ck)
	if err != nil {
		t.Fatalf("export after a restart against the checkpoint before: %v", err)
	}
	if res2.Size <= res.Size || !strings.Contains(string(export2), id2) {
		t.Errorf("after the restart: size %d (before %d)", res2.Size, res.Size)
	}
}

// Every event records who caused it: the token that submitted, cancelled
// or drained, the node that registered and reported, the scheduler that
// placed; and the audit entries carry the same actors.
func TestEventActors(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(1, 1))
	e.pass()
	e.report("n1", running(id, 0, 1))
	if code := e.do("POST", "/v1/jobs/"+id+"/cancel", nil, nil); code != 202 {
		t.Fatalf("cancel: %d", code)
	}
	if code := e.do("POST", "/v1/nodes/n1/drain", nil, nil); code != 200 {
		t.Fatalf("drain: %d", code)
	}
	var evs api.EventList
	e.do("GET", "/v1/events", nil, &evs)
	want := map[string]string{
		api.EventSubmitted: "token:operator-admin",
		api.EventStarted:   "",
		api.EventRunning:   "node:n1",
		api.EventCancel:    "token:operator-admin",
	}
	seen := map[string]bool{}
	for _, ev := range evs.Events {
		if a, ok := want[ev.Type]; ok && ev.Job == id {
			seen[ev.Type] = true
			if ev.Actor != a && !byToken(ev.Actor, strings.TrimPrefix(a, "token:")) {
				t.Errorf("%s event by %q, want %q", ev.Type, ev.Actor, a)
			}
		}
		if ev.Type == api.EventNode && strings.Contains(ev.Message, "registered") && ev.Actor != "node:n1" {
			t.Errorf("registration by %q, want node:n1", ev.Actor)
		}
		if ev.Type == api.EventNode && strings.Contains(ev.Message, "drained") && !byToken(ev.Actor, "operator-admin") {
			t.Errorf("drain by %q, want token:operator-admin", ev.Actor)
		}
	}
	for typ := range want {
		if !seen[typ] {
			t.Errorf("no %s event of %s: %+v", typ, id, evs.Events)
		}
	}
}

// A refused submission is a decision too: it is recorded, with who asked
// and why, but not its body.
func TestRejectedSubmissionIsAudited(t *testing.T) {
	e := devEnv(t)
	var p api.Problem
	if code := e.do("POST", "/v1/jobs", map[string]any{"tenant": "default", "gpus": 64, "command": []string{"x"}, "env": map[string]string{"K": "v3ry-s3cret"}}, &p); code != 400 {
		t.Fatalf("an impossible job: %d", code)
	}
	var evs api.EventList
	e.do("GET", "/v1/events", nil, &evs)
	last := evs.Events[len(evs.Events)-1]
	if last.Type != api.EventRejected || !byToken(last.Actor, "operator-admin") || !strings.Contains(last.Message, "gpus") {
		t.Errorf("last event %+v, want the rejection with its actor and reason", last)
	}
	if strings.Contains(last.Message, "v3ry-s3cret") {
		t.Errorf("the rejection records the body: %q", last.Message)
	}
}

// byToken reports whether actor is a token named name: "token:NAME/ID".
func byToken(actor, name string) bool {
	return strings.HasPrefix(actor, "token:"+name+"/") && len(actor) > len("token:"+name+"/")
}

// Two tokens of one name (a tenant-admin may name a token as an
// operator's) are told apart in the audit log and by whoami: the actor
// carries the token's ID.
func TestSameNamedTokensAreToldApart(t *testing.T) {
	e := secEnv(t)
	admin := withBearer(tokenFor(t, e.s, "operator-admin", ""))
	ta := withBearer(tokenFor(t, e.s, "tenant-admin", "a"))
	var ops, tenants api.Token
	if code, _ := e.doWith(admin, "POST", "/v1/tokens", api.TokenRequest{Name: "ops-alice", Role: "operator"}, &ops); code != 201 {
		t.Fatalf("operator token: %d", code)
	}
	if code, _ := e.doWith(ta, "POST", "/v1/tokens", api.TokenRequest{Name: "ops-alice", Role: "member"}, &tenants); code != 201 {
		t.Fatalf("tenant token: %d", code)
	}
	var w1, w2 api.WhoAmI
	e.doWith(withBearer(ops.Secret), "GET", "/v1/whoami", nil, &w1)
	e.doWith(withBearer(tenants.Secret), "GET", "/v1/whoami", nil, &w2)
	if w1.Subject == w2.Subject || w1.Subject != "token:ops-alice/"+ops.ID || w2.Subject != "token:ops-alice/"+tenants.ID {
		t.Errorf("whoami: %q and %q; want each token's name and ID", w1.Subject, w2.Subject)
	}
}
