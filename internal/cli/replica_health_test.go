package cli

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// probe GETs path of a replica's listener at base, without credentials,
// as a load balancer's health check does.
func probe(t *testing.T, base, path string) (int, http.Header, map[string]string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Get(base + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body map[string]string
	json.Unmarshal(b, &body)
	return resp.StatusCode, resp.Header, body
}

// A standby answers /healthz for itself: it is alive, whatever the
// leader's state, and says it is a standby and who leads. Its /readyz is
// 503 with api.StandbyHeader: it does not lead, so a load balancer that
// routes by readiness sends the API to the leader.
func TestStandbyAnswersHealthForItself(t *testing.T) {
	db := pgSchema(t)
	conn := pgConn(t, db)
	const ttl = 600 * time.Millisecond

	lone := newTestReplica(t, db, "cp-0", ttl) // does not campaign: no leader
	for _, base := range []string{lone.cp.url, lone.cp.adminURL} {
		code, _, body := probe(t, base, "/healthz")
		if code != http.StatusOK || body["status"] != "standby" || body["leader"] != "" {
			t.Errorf("%s/healthz of a standby without a leader: %d %v; want 200, status standby, no leader", base, code, body)
		}
	}

	a := startTestReplica(t, db, "cp-1", ttl)
	waitLease(t, conn, "cp-1", 10*time.Second)
	waitLeading(t, a, "cp-1", 10*time.Second)
	b := startTestReplica(t, db, "cp-2", ttl)
	for end := time.Now().Add(10 * time.Second); b.cp.replica.leaderURL(true) == nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("cp-2 does not know the leader after 10 s")
		}
	}
	for _, l := range []struct{ standby, leader string }{{b.cp.url, a.cp.url}, {b.cp.adminURL, a.cp.adminURL}} {
		code, _, body := probe(t, l.standby, "/healthz")
		if code != http.StatusOK || body["status"] != "standby" || body["leader"] != l.leader {
			t.Errorf("%s/healthz of a standby: %d %v; want 200, status standby, leader %s", l.standby, code, body, l.leader)
		}
		code, h, body := probe(t, l.standby, "/readyz")
		if code != http.StatusServiceUnavailable || h.Get(api.StandbyHeader) != l.leader {
			t.Errorf("%s/readyz of a standby: %d, %s %q, %v; want 503, %s %s", l.standby, code,
				api.StandbyHeader, h.Get(api.StandbyHeader), body, api.StandbyHeader, l.leader)
		}
	}
	// The leader's own answers are unchanged: they need a token.
	if code, _, _ := probe(t, a.cp.adminURL, "/healthz"); code != http.StatusUnauthorized {
		t.Errorf("the leader's /healthz without a token: %d; want 401", code)
	}
}
