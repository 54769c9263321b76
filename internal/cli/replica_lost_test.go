package cli

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/nettest"
)

// A leader that lost its lease (cut off from the database, it could not
// renew it) answers as a standby while its server stops, which may take
// a while: it must not say that it leads and is loading the state
// ("starting", itself the leader), which sent monitoring and people
// looking for the leader to the one replica that no longer is.
func TestLeaderThatLostItsLeaseDoesNotSayItLeads(t *testing.T) {
	db := pgSchema(t)
	conn := pgConn(t, db)
	const ttl = 600 * time.Millisecond
	f := nettest.Start(t, mustHost(t, db))
	release := make(chan struct{})
	// Its server stops only once released: the time it takes to stop
	// (writes that wait on the database) is held open.
	a := startTestReplicaWith(t, through(t, f, db), "a", ttl, func(context.Context) error {
		<-release
		return nil
	})
	t.Cleanup(f.Close)
	t.Cleanup(func() { close(release) })
	waitLease(t, conn, "a", 10*time.Second)
	waitLeading(t, a, "a", 10*time.Second)

	f.Freeze()
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		code, _, body := probe(t, a.cp.adminURL, "/healthz")
		if code == http.StatusOK { // a standby's answer: the leader's needs a token
			if body["status"] != "standby" || body["leader"] == a.cp.adminURL {
				t.Errorf("/healthz of a leader that lost its lease: %v; want status standby, not itself the leader", body)
			}
			if got := a.cp.replica.role(); got != "standby" {
				t.Errorf("its role: %s; want standby", got)
			}
			return
		}
		if time.Now().After(end) {
			t.Fatalf("a, cut off from the database, still answers /healthz as the leader (%d) after 10 s", code)
		}
	}
}

// A standby that cannot read the lease (cut off from the database) says
// so where it says who leads: "no leader yet" sent people looking for a
// leader election that was not the problem.
func TestStandbyCutOffFromTheDatabaseSaysSo(t *testing.T) {
	db := pgSchema(t)
	const ttl = 600 * time.Millisecond
	f := nettest.Start(t, mustHost(t, db))
	b := newTestReplica(t, through(t, f, db), "b", ttl)
	t.Cleanup(f.Close)
	f.Cut()
	b.run(func(context.Context) error { return nil })
	var body map[string]string
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		_, _, body = probe(t, b.cp.adminURL, "/healthz")
		if strings.Contains(body["detail"], "database") {
			return
		}
	}
	t.Errorf("/healthz of a standby cut off from the database: %v; want a detail saying it cannot read the lease from the database", body)
}
