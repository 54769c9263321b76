package cli

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/auth"
)

// scrape GETs base's /metrics with token ("" for none), as Prometheus
// does.
func scrape(t *testing.T, base, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s/metrics: %v", base, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Every replica's /metrics are its own: a standby's are its process's
// and its role, not the leader's forwarded (which Prometheus, scraping
// every replica, counted once per replica, and which hid the standbys);
// the leader's are the control plane's and its role. A standby reads
// the token as the leader does.
func TestEachReplicaExportsItsOwnMetrics(t *testing.T) {
	db := pgSchema(t)
	conn := pgConn(t, db)
	const ttl = 600 * time.Millisecond
	dir := t.TempDir() // one token key for both
	a := newTestReplicaIn(t, db, "cp-1", ttl, dir)
	a.run(func(context.Context) error { return nil })
	waitLease(t, conn, "cp-1", 10*time.Second)
	waitLeading(t, a, "cp-1", 10*time.Second)
	b := newTestReplicaIn(t, db, "cp-2", ttl, dir)
	b.run(func(context.Context) error { return nil })
	for end := time.Now().Add(10 * time.Second); b.cp.replica.leaderURL(true) == nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("cp-2 does not know the leader after 10 s")
		}
	}
	tok, err := a.cp.srv.MintToken(context.Background(), api.TokenRequest{Name: "prometheus", Role: string(auth.Operator)}, "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		who, base   string
		has, hasNot []string
	}{
		{"the leader", a.cp.adminURL,
			[]string{`carnot_replica_role{role="leader"} 1`, `carnot_replica_role{role="standby"} 0`, "carnot_queue_length", "go_goroutines"}, nil},
		{"a standby", b.cp.adminURL,
			[]string{`carnot_replica_role{role="standby"} 1`, `carnot_replica_role{role="leader"} 0`, "go_goroutines", "process_start_time_seconds"},
			[]string{"carnot_queue_length", "carnot_gpus", "carnot_nodes", "carnot_placements_total", "carnot_energy_joules_total"}},
	} {
		code, body := scrape(t, c.base, tok.Secret)
		if code != http.StatusOK {
			t.Errorf("%s's /metrics: %d %.300s; want 200", c.who, code, body)
			continue
		}
		for _, s := range c.has {
			if !strings.Contains(body, s) {
				t.Errorf("%s's /metrics lack %q", c.who, s)
			}
		}
		for _, s := range c.hasNot {
			if strings.Contains(body, s) {
				t.Errorf("%s's /metrics have %q, which only the leader's have", c.who, s)
			}
		}
	}
	if code, body := scrape(t, b.cp.adminURL, ""); code != http.StatusUnauthorized {
		t.Errorf("a standby's /metrics without a token: %d %.200s; want 401", code, body)
	}
	if code, _ := scrape(t, b.cp.url, tok.Secret); code != http.StatusNotFound {
		t.Errorf("a standby's /metrics on the tenant listener: %d; want 404, as the leader's", code)
	}

	// A failover: the standby's /metrics become the leader's.
	a.stop()
	<-a.done
	waitLease(t, conn, "cp-2", 10*time.Second)
	waitLeading(t, b, "cp-2", 10*time.Second)
	code, body := scrape(t, b.cp.adminURL, tok.Secret)
	for _, s := range []string{`carnot_replica_role{role="leader"} 1`, "carnot_queue_length"} {
		if code != http.StatusOK || !strings.Contains(body, s) {
			t.Errorf("the new leader's /metrics: %d, lack %q", code, s)
		}
	}
}
