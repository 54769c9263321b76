package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// Fencing a node that its agent reports from (ready or draining) while
// it runs work would stop that work on the word of an operator who may
// have named the wrong node: it is refused (409) with what would stop,
// unless force=true. A silent node, or a live one that runs nothing, is
// fenced at once.
func TestFenceLiveNodeWithWorkNeedsForce(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(8, 1))
	e.pass()
	e.report("n1", running(id, 0, 1))

	w := e.raw("POST", "/v1/nodes/n1/fence", nil)
	code, body := w.Code, w.Body.String()
	var p api.Problem
	json.Unmarshal(w.Body.Bytes(), &p)
	if code != http.StatusConflict || !strings.Contains(p.Detail, id) || !strings.Contains(p.Detail, "force=true") ||
		!strings.Contains(p.Detail, "carnot drain n1") {
		t.Fatalf("fence of ready n1 running %s: %d %s; want 409 naming the job, force=true and carnot drain n1", id, code, body)
	}
	if j := e.job(id); j.State != api.StateRunning {
		t.Fatalf("a refused fence stopped %s: %s", id, j.State)
	}
	var n api.Node
	if e.do("GET", "/v1/nodes/n1", nil, &n); n.Fenced {
		t.Fatalf("n1 fenced by a refused fence: %+v", n)
	}
	if code := e.do("POST", "/v1/nodes/n1/fence?force=maybe", nil, nil); code != http.StatusBadRequest {
		t.Errorf("force=maybe: %d, want 400", code)
	}
	if code := e.do("POST", "/v1/nodes/n1/fence?force=true", nil, &n); code != 200 || !n.Fenced {
		t.Fatalf("fence --force: %d %+v", code, n)
	}
	if j := e.job(id); j.Replicas[0].State != api.ReplicaLost {
		t.Fatalf("forced fence: replica %s, want lost", j.Replicas[0].State)
	}
	// A live node that runs nothing needs no force.
	if code := e.do("POST", "/v1/nodes/n1/unfence", nil, nil); code != 200 {
		t.Fatalf("unfence: %d", code)
	}
	e.report("n1")
	if code := e.do("POST", "/v1/nodes/n1/fence", nil, &n); code != 200 || !n.Fenced {
		t.Fatalf("fence of idle ready n1: %d %+v, want 200", code, n)
	}
}

// A node whose certificates were revoked needs no force to be fenced,
// though it runs work and its condition says ready until the heartbeat
// timeout: its agent can no longer report (reenroll-node's check of a
// live agent, liveAgent, says the same), and what it runs is lost at
// that timeout anyway. operations.md's "revoke-node, then fence it once
// you know it is off" is then one fence, not a fence --force.
func TestFenceOfARevokedNodeNeedsNoForce(t *testing.T) {
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
	id := e.submit(spec(8, 1))
	e.pass()
	e.report("n1", running(id, 0, 1))
	if code := e.do("POST", "/v1/nodes/n1/revoke", nil, nil); code != http.StatusNoContent {
		t.Fatalf("revoke n1: %d", code)
	}
	var n api.Node
	if code := e.do("POST", "/v1/nodes/n1/fence", nil, &n); code != http.StatusOK || !n.Fenced {
		w := e.raw("POST", "/v1/nodes/n1/fence", nil)
		t.Fatalf("fence of revoked n1 running %s: %d %s; want 200 without force", id, w.Code, w.Body.String())
	}
}
