package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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

// testReplica is one `carnot server --postgres` replica in this process,
// its run loop started; done is closed once run returned err.
type testReplica struct {
	cp   *controlPlane
	done chan struct{}
	err  error
}

func startTestReplica(t *testing.T, db, name string, ttl time.Duration) *testReplica {
	t.Helper()
	return startTestReplicaWith(t, db, name, ttl, func(context.Context) error { return nil })
}

// startTestReplicaWith starts a replica whose run calls onLeader once it
// leads.
func startTestReplicaWith(t *testing.T, db, name string, ttl time.Duration, onLeader func(context.Context) error) *testReplica {
	t.Helper()
	o := &serverOpts{listen: "127.0.0.1:0", adminListen: "127.0.0.1:0", dataDir: t.TempDir(),
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
	r := &testReplica{cp: cp, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = cp.run(ctx, onLeader)
	}()
	t.Cleanup(func() {
		stop()
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			t.Errorf("replica %s did not stop", name)
		}
	})
	return r
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

// waitLease waits until the lease is holder's, and returns its epoch.
func waitLease(t *testing.T, conn *pgx.Conn, holder string, within time.Duration) int64 {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		h, e, v := leaseRow(t, conn)
		if h == holder && v {
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lease is %s's (epoch %d, valid %v) after %s; want %s's", h, e, v, within, holder)
		}
		time.Sleep(20 * time.Millisecond)
	}
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
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
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
	if h, _, v := leaseRow(t, conn); h == "a" && v {
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
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
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
	if h, e, v := leaseRow(t, conn); h != "a" || e != epoch || !v {
		t.Errorf("the lease is %s's at epoch %d (valid %v); want a's at epoch %d, renewed while it started",
			h, e, v, epoch)
	}
}
