package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/audit"
)

// auditEnv is a server of the dev facility whose audit log signer signs.
func auditEnv(t *testing.T, signer note.Signer) *env {
	t.Helper()
	e := newEnv(t, DevFacility("local", "FR"), true)
	a, err := newAuditor("carnot audit dev", signer)
	if err != nil {
		t.Fatal(err)
	}
	e.s.audit = a
	return e
}

// checkpointNow fetches a checkpoint signed now and opens it with v.
func (e *env) checkpointNow(v note.Verifier) audit.Checkpoint {
	e.t.Helper()
	code, note := e.get("/v1/audit/checkpoint")
	if code != http.StatusOK {
		e.t.Fatalf("checkpoint: %d %s", code, note)
	}
	ck, err := audit.OpenCheckpoint(note, v)
	if err != nil {
		e.t.Fatal(err)
	}
	return ck
}

// consistency asks for GET /v1/audit/consistency?query with req's
// credentials, checks that the answer is for old, and returns its
// checkpoint, opened with v, and its proof.
func (e *env) consistency(h http.Handler, cred func(*http.Request) *http.Request, v note.Verifier, old int64, query string) (audit.Checkpoint, tlog.TreeProof) {
	e.t.Helper()
	req := cred(httptest.NewRequest("GET", "/v1/audit/consistency?"+query, nil))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	checkDocumented(e.t, e.s.mux, req, w.Code)
	var out api.AuditConsistency
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &out) != nil {
		e.t.Fatalf("consistency?%s: %d %s", query, w.Code, w.Body)
	}
	if out.Old != old {
		e.t.Fatalf("consistency?%s: a proof from tree size %d, want %d", query, out.Old, old)
	}
	ck, err := audit.OpenCheckpoint([]byte(out.Checkpoint), v)
	if err != nil {
		e.t.Fatalf("consistency?%s: %v", query, err)
	}
	proof, err := audit.DecodeHashes(out.Proof)
	if err != nil {
		e.t.Fatalf("consistency?%s: %v", query, err)
	}
	return ck, proof
}

// asIs sends a request with the env's default credentials.
func asIs(r *http.Request) *http.Request { return r }

// A checkpoint kept at any size is proven a prefix of the log as it grows:
// of a fresh checkpoint by default, of the tree of size new when asked,
// and every proof checks against both signed roots (a wrong proof does
// not). The checkpoint of an earlier size names the root that size had.
func TestAuditConsistency(t *testing.T) {
	signer, v := auditKeys(t)
	e := auditEnv(t, signer)
	e.register("n1", "local", 8)
	kept := []audit.Checkpoint{e.checkpointNow(v)}
	for range 4 {
		id := e.submit(spec(1, 1))
		e.pass()
		e.report("n1", running(id, 0, 1))
		kept = append(kept, e.checkpointNow(v))
	}
	last := kept[len(kept)-1]
	for i, old := range kept {
		ck, proof := e.consistency(e.h, asIs, v, old.Size, fmt.Sprintf("old=%d", old.Size))
		if ck.Size != last.Size || ck.Root != last.Root {
			t.Fatalf("from tree size %d: a checkpoint of tree size %d (root %s), want the log now, %d (%s)", old.Size, ck.Size, ck.Root, last.Size, last.Root)
		}
		if err := audit.VerifyConsistency(old, ck, proof); err != nil {
			t.Errorf("from tree size %d to %d: %v", old.Size, ck.Size, err)
		}
		for _, newer := range kept[i:] {
			ck, proof := e.consistency(e.h, asIs, v, old.Size, fmt.Sprintf("old=%d&new=%d", old.Size, newer.Size))
			if ck.Size != newer.Size || ck.Root != newer.Root {
				t.Fatalf("new=%d: a checkpoint of tree size %d (root %s), want root %s", newer.Size, ck.Size, ck.Root, newer.Root)
			}
			if err := audit.VerifyConsistency(old, ck, proof); err != nil {
				t.Errorf("from tree size %d to %d: %v", old.Size, newer.Size, err)
			}
			for j := range proof {
				bad := append(tlog.TreeProof(nil), proof...)
				bad[j][0] ^= 1
				if err := audit.VerifyConsistency(old, ck, bad); !errors.Is(err, audit.ErrForked) {
					t.Errorf("from tree size %d to %d, hash %d changed: %v, want ErrForked", old.Size, newer.Size, j, err)
				}
			}
		}
	}
	if last.Size < kept[0].Size+4 {
		t.Errorf("the log grew from %d to %d entries only", kept[0].Size, last.Size)
	}
}

// A checkpoint of another history (the log rewritten, or forked, under the
// same key) is not proven a prefix: the proof the server gives does not
// verify. A checkpoint of a larger tree than the log holds (the log rolled
// back) is refused, naming old, and the log's fresh checkpoint shows the
// rollback.
func TestAuditConsistencyForkAndRollback(t *testing.T) {
	signer, v := auditKeys(t)
	a := auditEnv(t, signer)
	a.register("n1", "local", 8)
	a.submit(spec(1, 1))
	keptA := a.checkpointNow(v)
	b := auditEnv(t, signer) // the same key and origin, another history
	b.register("n2", "local", 8)
	for range 3 {
		b.submit(spec(2, 1))
	}
	keptB := b.checkpointNow(v)
	if keptB.Size <= keptA.Size {
		t.Fatalf("tree sizes %d and %d: want b's larger", keptA.Size, keptB.Size)
	}
	ck, proof := b.consistency(b.h, asIs, v, keptA.Size, fmt.Sprintf("old=%d", keptA.Size))
	if err := audit.VerifyConsistency(keptA, ck, proof); !errors.Is(err, audit.ErrForked) {
		t.Errorf("a checkpoint of another history: %v, want ErrForked", err)
	}

	var p api.Problem
	if code := a.do("GET", fmt.Sprintf("/v1/audit/consistency?old=%d", keptB.Size), nil, &p); code != http.StatusBadRequest ||
		len(p.Errors) != 1 || p.Errors[0].Field != "old" {
		t.Fatalf("a checkpoint of a larger tree than the log: %d %+v, want 400 naming old", code, p)
	}
	if err := audit.VerifyConsistency(keptB, a.checkpointNow(v), nil); !errors.Is(err, audit.ErrRollback) {
		t.Errorf("the smaller log's checkpoint after the larger one: %v, want ErrRollback", err)
	}
}

// Bad tree sizes are a 400 naming the parameter.
func TestAuditConsistencyBadParameters(t *testing.T) {
	signer, v := auditKeys(t)
	e := auditEnv(t, signer)
	size := e.checkpointNow(v).Size
	for _, c := range []struct{ query, field string }{
		{"", "old"},
		{"old=", "old"},
		{"old=x", "old"},
		{"old=1.5", "old"},
		{"old=0", "old"},
		{"old=-3", "old"},
		{"old=1&new=x", "new"},
		{"old=1&new=0", "new"},
		{"old=2&new=1", "old"},
		{fmt.Sprintf("old=%d", size+1), "old"},
		{fmt.Sprintf("old=1&new=%d", size+1), "new"},
	} {
		var p api.Problem
		code := e.do("GET", "/v1/audit/consistency?"+c.query, nil, &p)
		if code != http.StatusBadRequest || len(p.Errors) != 1 || p.Errors[0].Field != c.field || p.Errors[0].Message == "" {
			t.Errorf("?%s: %d %+v, want 400 naming %s", c.query, code, p, c.field)
		}
	}
}

// Tenants ask for consistency proofs on the tenant listener: they hold
// hashes only.
func TestAuditConsistencyForTenants(t *testing.T) {
	signer, v := auditKeys(t)
	e := auditEnv(t, signer)
	kept := e.checkpointNow(v)
	e.register("n1", "local", 8)
	for _, role := range []string{"member", "viewer", "auditor"} {
		cred := withBearer(tokenFor(t, e.s, role, "default"))
		ck, proof := e.consistency(e.s.TenantHandler(), cred, v, kept.Size, fmt.Sprintf("old=%d", kept.Size))
		if err := audit.VerifyConsistency(kept, ck, proof); err != nil || ck.Size <= kept.Size {
			t.Errorf("as a %s of tenant default: tree size %d after %d: %v", role, ck.Size, kept.Size, err)
		}
	}
}
