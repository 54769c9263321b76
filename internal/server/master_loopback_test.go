package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// A gang across nodes whose rank 0 is on a node whose agent serves on a
// loopback address got MASTER_ADDR=127.0.0.1 on every node: the ranks
// elsewhere reach themselves, and the job hangs in its rendezvous with
// nothing said. Its start now says so (and the server logs it); a gang on
// one node, or with rank 0 at a routable address, says nothing of it.
func TestGangAcrossNodesWithLoopbackMasterIsFlagged(t *testing.T) {
	for _, c := range []struct {
		name, addr string
		replicas   int
		flagged    bool
	}{
		{"loopback, two nodes", "http://127.0.0.1:7070", 2, true},
		{"localhost, two nodes", "http://localhost:7070", 2, true},
		{"routable, two nodes", "http://10.0.0.1:7070", 2, false},
		{"loopback, one node", "http://127.0.0.1:7070", 1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, DevFacility("local", "FR"), true)
			e.registerAt("n1", c.addr)
			e.registerAt("n2", "http://10.0.0.2:7070")
			var j api.Job
			if code := e.do("POST", "/v1/jobs", spec(8, c.replicas), &j); code != http.StatusCreated {
				t.Fatalf("submit: %d", code)
			}
			e.pass()
			rs := e.job(j.ID).Replicas
			if len(rs) != c.replicas {
				t.Fatalf("replicas %+v; want %d started", rs, c.replicas)
			}
			if c.replicas > 1 && rs[0].Node != "n1" {
				t.Fatalf("rank 0 placed on %s, not n1: the case needs it on n1", rs[0].Node)
			}
			evs := strings.Join(e.eventsOf(j.ID, api.EventStarted), "\n")
			if got := strings.Contains(evs, "MASTER_ADDR"); got != c.flagged {
				t.Errorf("started events %q: flagged %v, want %v", evs, got, c.flagged)
			}
		})
	}
}
