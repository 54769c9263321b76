package cli

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/nettest"
	"github.com/carnot-dc/carnot/internal/store"
	"github.com/carnot-dc/carnot/internal/store/postgres"
)

// The lease holder is a process, not a --replica-name: two processes with
// one name (a hung process and its restart by the process manager, a unit
// copied to two machines) are two holders, or both would lead at one
// epoch, which fencing cannot tell apart.

// A second process named like the leader waits for the lease as any
// standby, and forwards the API to the leader.
func TestSameNameReplicaWaitsForTheLease(t *testing.T) {
	db := pgSchema(t)
	conn := pgConn(t, db)
	const ttl = 600 * time.Millisecond
	a := startTestReplica(t, db, "cp-1", ttl)
	epoch := waitLease(t, conn, "cp-1", 10*time.Second)
	holder, _, _ := leaseRow(t, conn)
	waitLeading(t, a, "the first cp-1", 10*time.Second)

	b := startTestReplica(t, db, "cp-1", ttl)
	for end := time.Now().Add(4 * ttl); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if leader, answer := agentRoute(t, b); leader {
			h, e, _ := leaseRow(t, conn)
			t.Fatalf("the second cp-1 acts as the leader (%s) while the first holds the lease: the lease is %q at epoch %d, the first's epoch %d",
				answer, h, e, epoch)
		}
	}
	if h, e, v := leaseRow(t, conn); h != holder || e != epoch || !v {
		t.Errorf("the lease is %q at epoch %d (valid %v); want the first's, %q at epoch %d", h, e, v, holder, epoch)
	}
	if leader, answer := agentRoute(t, a); !leader {
		t.Errorf("the first cp-1 no longer leads: %s", answer)
	}
	if u := b.cp.replica.leaderURL(true); u == nil || u.String() != a.cp.adminURL {
		t.Errorf("the second cp-1 forwards the operator API to %v; want the first's, %s", u, a.cp.adminURL)
	}
}

// The leader stalls (cut off from the database, as a paused process is)
// and a second process of the same name starts: it takes the lease once
// the first's expired, not before, at a new epoch that fences the first's
// writes.
func TestSameNameReplicaTakesAStalledLeaseAtANewEpoch(t *testing.T) {
	db := pgSchema(t)
	conn := pgConn(t, db)
	const ttl = time.Second
	f := nettest.Start(t, mustHost(t, db)) // frozen below: the database as a replica cut off from it sees it
	a := startTestReplica(t, through(t, f, db), "cp-1", ttl)
	t.Cleanup(f.Close) // before a's cleanup: a stops once its connections fail
	epoch := waitLease(t, conn, "cp-1", 10*time.Second)
	waitLeading(t, a, "the first cp-1", 10*time.Second)

	b := newTestReplica(t, db, "cp-1", ttl) // built: it campaigns at once
	f.Freeze()
	var expires time.Time // the stalled leader's lease, as the database counts it
	if err := conn.QueryRow(context.Background(), "SELECT expires FROM leader").Scan(&expires); err != nil {
		t.Fatal(err)
	}
	b.run(func(context.Context) error { return nil })
	for {
		leader, answer := agentRoute(t, b)
		if leader && time.Now().Before(expires) {
			h, e, _ := leaseRow(t, conn)
			t.Fatalf("the second cp-1 leads (%s) %s before the stalled first's lease expires: the lease is %q at epoch %d, the first's epoch %d",
				answer, time.Until(expires).Round(time.Millisecond), h, e, epoch)
		}
		if leader {
			break
		}
		if time.Since(expires) > 10*time.Second {
			t.Fatalf("the second cp-1 does not lead 10 s after the stalled first's lease expired: %s", answer)
		}
		time.Sleep(20 * time.Millisecond)
	}
	h, e, _ := leaseRow(t, conn)
	if h != b.cp.replica.holder || e <= epoch {
		t.Fatalf("the lease is %q at epoch %d; want the second cp-1's, %q, at an epoch above the first's, %d",
			h, e, b.cp.replica.holder, epoch)
	}
	if err := fencedWrite(t, db, epoch); !errors.Is(err, store.ErrFenced) {
		t.Errorf("a write of the stalled first cp-1 (epoch %d) after the second took over: %v, want ErrFenced", epoch, err)
	}
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		leader, answer := agentRoute(t, a)
		if !leader {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the stalled first cp-1 still answers its agents as the leader: %s", answer)
		}
	}
}

// A replica stopped cleanly gives its lease up: its restart (same name,
// a new process) leads at once, without waiting for the lease to expire,
// at a new epoch.
func TestReplicaRestartedAfterACleanStopLeadsAtOnce(t *testing.T) {
	db := pgSchema(t)
	conn := pgConn(t, db)
	const ttl = 3 * time.Second
	a := startTestReplica(t, db, "cp-1", ttl)
	epoch := waitLease(t, conn, "cp-1", 10*time.Second)
	waitLeading(t, a, "cp-1", 10*time.Second)
	a.stop()
	select {
	case <-a.done:
		if a.err != nil {
			t.Fatalf("cp-1 stopped with %v", a.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cp-1 did not stop")
	}

	b := newTestReplica(t, db, "cp-1", ttl)
	t0 := time.Now()
	b.run(func(context.Context) error { return nil })
	e := waitHolder(t, conn, b.cp.replica.holder, ttl/3)
	t.Logf("the restarted cp-1 took the lease %s after it started", time.Since(t0).Round(time.Millisecond))
	if e <= epoch {
		t.Errorf("the restarted cp-1 holds the lease at epoch %d; want above the stopped one's, %d", e, epoch)
	}
	if err := fencedWrite(t, db, epoch); !errors.Is(err, store.ErrFenced) {
		t.Errorf("a write of the stopped cp-1 (epoch %d): %v, want ErrFenced", epoch, err)
	}
}

// A lease row an older version left (the holder is the bare replica name)
// is another process's: a replica of that name waits until it expires,
// then takes it at a new epoch.
func TestReplicaWaitsForALeaseOfAnOlderVersion(t *testing.T) {
	db := pgSchema(t)
	conn := pgConn(t, db)
	ctx := context.Background()
	pg, err := postgres.Open(ctx, db) // creates the schema
	if err != nil {
		t.Fatal(err)
	}
	pg.Close()
	const ttl = 600 * time.Millisecond
	var expires time.Time
	if err := conn.QueryRow(ctx, `UPDATE leader SET holder = 'cp-1', address = 'https://127.0.0.1:1 https://127.0.0.1:2',
		epoch = 7, expires = now() + interval '2 seconds' RETURNING expires`).Scan(&expires); err != nil {
		t.Fatal(err)
	}
	r := startTestReplica(t, db, "cp-1", ttl)
	for {
		var h string
		var e int64
		var exp time.Time
		if err := conn.QueryRow(ctx, "SELECT holder, epoch, expires FROM leader").Scan(&h, &e, &exp); err != nil {
			t.Fatal(err)
		}
		if e == 7 && !exp.Equal(expires) {
			t.Fatalf("cp-1 renewed the older version's lease as its own, at its epoch 7 (%q, its expiry moved by %s)",
				h, exp.Sub(expires).Round(time.Millisecond))
		}
		if e != 7 && time.Now().Before(expires) {
			t.Fatalf("cp-1 took the older version's lease %s before it expires: the lease is %q at epoch %d",
				time.Until(expires).Round(time.Millisecond), h, e)
		}
		if e != 7 {
			break
		}
		if time.Since(expires) > 10*time.Second {
			t.Fatalf("cp-1 did not take the older version's lease 10 s after it expired")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if e := waitHolder(t, conn, r.cp.replica.holder, 10*time.Second); e != 8 {
		t.Errorf("cp-1 holds the lease at epoch %d; want 8, the older version's plus one", e)
	}
	waitLeading(t, r, "cp-1", 10*time.Second)
}

// waitHolder waits until the lease is a valid one of holder, and returns
// its epoch.
func waitHolder(t *testing.T, conn *pgx.Conn, holder string, within time.Duration) int64 {
	t.Helper()
	for end := time.Now().Add(within); ; time.Sleep(20 * time.Millisecond) {
		h, e, v := leaseRow(t, conn)
		if h == holder && v {
			return e
		}
		if time.Now().After(end) {
			t.Fatalf("the lease is %q's (epoch %d, valid %v) after %s; want %q's", h, e, v, within, holder)
		}
	}
}

// pgConn is a connection to db, closed when t ends.
func pgConn(t *testing.T, db string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// waitLeading waits until r answers its agents as the leader: its server
// is built.
func waitLeading(t *testing.T, r *testReplica, what string, within time.Duration) {
	t.Helper()
	for end := time.Now().Add(within); ; time.Sleep(50 * time.Millisecond) {
		leader, answer := agentRoute(t, r)
		if leader {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("%s does not answer as the leader after %s: %s", what, within, answer)
		}
	}
}

// fencedWrite makes a write to db under the fencing token epoch, as a
// leader of that epoch does.
func fencedWrite(t *testing.T, db string, epoch int64) error {
	t.Helper()
	ctx := context.Background()
	pg, err := postgres.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	return pg.Update(store.WithFence(ctx, epoch), nil,
		[]api.Event{{Time: time.Now(), Type: api.EventNode, Message: "a write under epoch"}})
}
