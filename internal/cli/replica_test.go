package cli

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/nettest"
	"github.com/carnot-dc/carnot/internal/server"
)

// pgSchema creates an empty schema on the test PostgreSQL server
// ($CARNOT_TEST_POSTGRES, as .ci/run sets it), dropped when t ends, and
// returns a URL whose search_path is that schema; it skips t without one.
func pgSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv("CARNOT_TEST_POSTGRES")
	if base == "" {
		t.Skip("CARNOT_TEST_POSTGRES is not set (.ci/run starts a PostgreSQL and sets it)")
	}
	ctx := context.Background()
	b := make([]byte, 8)
	rand.Read(b)
	schema := "carnot_cli_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("CARNOT_TEST_POSTGRES: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// testReplica is one `carnot server --postgres` replica in this process;
// once its run loop is started, done is closed when run returned err.
type testReplica struct {
	cp   *controlPlane
	ctx  context.Context
	stop context.CancelFunc // stops the replica cleanly
	done chan struct{}
	err  error

	running bool // run was called
}

func startTestReplica(t *testing.T, db, name string, ttl time.Duration) *testReplica {
	t.Helper()
	return startTestReplicaWith(t, db, name, ttl, func(context.Context) error { return nil })
}

// startTestReplicaWith starts a replica whose run calls onLeader once it
// leads.
func startTestReplicaWith(t *testing.T, db, name string, ttl time.Duration, onLeader func(context.Context) error) *testReplica {
	t.Helper()
	r := newTestReplica(t, db, name, ttl)
	r.run(onLeader)
	return r
}

// newTestReplica starts a replica's listeners, as a standby; it does not
// campaign until run.
func newTestReplica(t *testing.T, db, name string, ttl time.Duration) *testReplica {
	t.Helper()
	return newTestReplicaIn(t, db, name, ttl, t.TempDir())
}

// newTestReplicaIn is newTestReplica with the data directory dir: replicas
// given one share their keys and CA, as replicas of one control plane do.
func newTestReplicaIn(t *testing.T, db, name string, ttl time.Duration, dir string) *testReplica {
	t.Helper()
	o := &serverOpts{listen: "127.0.0.1:0", adminListen: "127.0.0.1:0", dataDir: dir,
		site: "local", country: "FR", heartbeat: time.Second, timeout: 10 * time.Second,
		logLevel: "error", auditRetention: server.MinAuditRetention, postgres: db + "&pool_max_conns=4",
		replicaName: name, leaseTTL: ttl}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, stop := context.WithCancel(context.Background())
	cp, err := startControlPlane(ctx, o, log)
	if err != nil {
		stop()
		t.Fatal(err)
	}
	r := &testReplica{cp: cp, ctx: ctx, stop: stop, done: make(chan struct{})}
	t.Cleanup(func() {
		stop()
		if !r.running {
			cp.close()
			cp.store.Close()
			return
		}
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			t.Errorf("replica %s did not stop", name)
		}
	})
	return r
}

// run starts r's run loop (campaigns, leads), which calls onLeader once
// it leads.
func (r *testReplica) run(onLeader func(context.Context) error) {
	r.running = true
	go func() {
		defer close(r.done)
		r.err = r.cp.run(r.ctx, onLeader)
	}()
}

// leaseRow reads the lease row as it is.
func leaseRow(t *testing.T, conn *pgx.Conn) (holder string, epoch int64, valid bool) {
	t.Helper()
	err := conn.QueryRow(context.Background(), "SELECT holder, epoch, expires > now() FROM leader").Scan(&holder, &epoch, &valid)
	if err != nil {
		t.Fatal(err)
	}
	return holder, epoch, valid
}

// waitLease waits until the lease is a valid one of a replica named name,
// and returns its epoch.
func waitLease(t *testing.T, conn *pgx.Conn, name string, within time.Duration) int64 {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		h, e, v := leaseRow(t, conn)
		if holderName(h) == name && v {
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lease is %s's (epoch %d, valid %v) after %s; want %s's", h, e, v, within, name)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// holderName is the replica name of a lease holder: the holder is the
// name and the process's instance, "cp-1 (instance 3f9c…)", or the bare
// name as an older version records it.
func holderName(holder string) string {
	name, _, _ := strings.Cut(holder, " (instance ")
	return name
}

// A leader whose renewal lands after its lease expired (the database was
// slow or away for a moment) takes the lease again at a new epoch, which
// fences every write its server makes under the old one. It must stop
// leading, as when another replica takes the lease, and not keep renewing
// a lease under which it cannot commit anything: that stalls the whole
// control plane, since no other replica can take the lease either.
func TestLeaderRenewingAtANewEpochStops(t *testing.T) {
	db := pgSchema(t)
	ctx := context.Background()
	conn := pgConn(t, db)
	a := startTestReplica(t, db, "a", 600*time.Millisecond)
	epoch := waitLease(t, conn, "a", 10*time.Second)
	time.Sleep(300 * time.Millisecond) // the server is built and its loop runs

	// The renewal is late: the lease lapsed without another taker.
	if _, err := conn.Exec(ctx, "UPDATE leader SET expires = now() - interval '1 millisecond'"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.done:
		if !errors.Is(a.err, errLostLease) {
			t.Fatalf("the leader stopped with %v, want errLostLease", a.err)
		}
	case <-time.After(5 * time.Second):
		h, e, v := leaseRow(t, conn)
		t.Fatalf("the leader still runs 5s after its lease lapsed; the lease is %s's at epoch %d (valid %v), its server writes under epoch %d",
			h, e, v, epoch)
	}
	if h, _, v := leaseRow(t, conn); holderName(h) == "a" && v {
		t.Errorf("the stopped leader still holds the lease: another replica must take it at once")
	}
}

// Becoming the leader takes a while: the server reloads the whole state
// from the database (server.New) and the bootstrap runs. The lease must
// be renewed meanwhile, or a state that takes longer than the lease to
// load would never let any replica lead: its lease would lapse before its
// loop ran, every time.
func TestLeaderKeepsItsLeaseWhileItsServerLoads(t *testing.T) {
	db := pgSchema(t)
	conn := pgConn(t, db)
	const ttl = 600 * time.Millisecond
	loaded := make(chan struct{})
	a := startTestReplicaWith(t, db, "a", ttl, func(ctx context.Context) error {
		defer close(loaded)
		select { // a slow start: three leases
		case <-time.After(3 * ttl):
		case <-ctx.Done():
		}
		return nil
	})
	epoch := waitLease(t, conn, "a", 10*time.Second)
	select {
	case <-loaded:
	case <-a.done:
		t.Fatalf("the replica stopped while it started to lead: %v", a.err)
	}
	select {
	case <-a.done:
		t.Fatalf("the replica stopped after a start longer than its lease: %v", a.err)
	case <-time.After(2 * ttl):
	}
	if h, e, v := leaseRow(t, conn); holderName(h) != "a" || e != epoch || !v {
		t.Errorf("the lease is %s's at epoch %d (valid %v); want a's at epoch %d, renewed while it started",
			h, e, v, epoch)
	}
}

// through returns db, a PostgreSQL URL, with its host and port r's.
func through(t *testing.T, r *nettest.Relay, db string) string {
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = r.Addr()
	return u.String()
}

// agentRoute asks replica r's operator API for a node agent's route
// (without a client certificate): a leader refuses the caller, a standby
// answers 503 with api.StandbyHeader; a replica that stopped refuses the
// connection.
func agentRoute(t *testing.T, r *testReplica) (leader bool, answer string) {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Get(r.cp.adminURL + "/v1/agent/nodes/n1/assignments")
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return false, "stopped"
	case err != nil:
		return true, err.Error() // no answer: not known to have stopped
	}
	resp.Body.Close()
	sb := resp.Header.Get(api.StandbyHeader)
	return resp.StatusCode != http.StatusServiceUnavailable || sb == "",
		fmt.Sprintf("%d, %s %q", resp.StatusCode, api.StandbyHeader, sb)
}

// A leader cut off from the database (no reset, no error: its calls just
// hang) cannot renew its lease; a standby takes the lease once it
// expires. The deposed leader must stop acting as the leader then, at the
// latest one lease after its last renewal: its writes are fenced, but
// while it answers its node agents from memory they stay with it, their
// nodes look silent to the new leader, which starts their work again
// elsewhere.
func TestLeaderCutOffFromTheDatabaseStepsDown(t *testing.T) {
	db := pgSchema(t)
	conn := pgConn(t, db)
	const ttl = 600 * time.Millisecond
	f := nettest.Start(t, mustHost(t, db)) // frozen below: the database as a replica cut off from it sees it
	a := startTestReplica(t, through(t, f, db), "a", ttl)
	t.Cleanup(f.Close) // before a's cleanup: a stops once its connections fail
	waitLease(t, conn, "a", 10*time.Second)
	time.Sleep(300 * time.Millisecond) // a's server runs
	if leader, answer := agentRoute(t, a); !leader {
		t.Fatalf("the leader answers an agent's route as a standby: %s", answer)
	}

	f.Freeze()
	t0 := time.Now()
	b := startTestReplica(t, db, "b", ttl)
	waitLease(t, conn, "b", 10*time.Second)
	t.Logf("b leads %s after a was cut off", time.Since(t0).Round(time.Millisecond))
	for {
		leader, answer := agentRoute(t, a)
		if !leader {
			t.Logf("a stopped acting as the leader %s after it was cut off (%s)", time.Since(t0).Round(time.Millisecond), answer)
			break
		}
		if time.Since(t0) > 5*time.Second {
			t.Fatalf("a, cut off from the database %s ago and deposed, still answers the agents as the leader (%s)",
				time.Since(t0).Round(time.Millisecond), answer)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for { // b's server is built
		leader, answer := agentRoute(t, b)
		if leader {
			break
		}
		if time.Since(t0) > 10*time.Second {
			t.Fatalf("the new leader still answers an agent's route as a standby: %s", answer)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// mustHost is the host:port of a PostgreSQL URL.
func mustHost(t *testing.T, db string) string {
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}
