package server

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store/postgres"
)

// Two replicas' stores on one PostgreSQL database append events at once
// while an auditor syncs as it goes: its tree, built a page at a time
// while commits land, is the tree a fresh auditor builds from the whole
// table afterwards (no event skipped for one committed late with a
// smaller seq, none taken twice), so replicas never sign forks of each
// other.
func TestAuditTreeOfConcurrentReplicas(t *testing.T) {
	url := pgSchemaURL(t)
	ctx := context.Background()
	var dbs [2]*postgres.DB
	for i := range dbs {
		db, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	signer, _ := auditKeys(t)
	live, err := newAuditor("carnot audit dev", signer)
	if err != nil {
		t.Fatal(err)
	}
	const writers, writes = 8, 40
	var wg sync.WaitGroup
	done := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range writes {
				ev := api.Event{Time: time.Unix(int64(i), 0), Tenant: "default", Type: api.EventToken,
					Actor: "test", Message: fmt.Sprintf("writer %d event %d", w, i)}
				if err := dbs[w%2].PutRecords(ctx, nil, []api.Event{ev}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	syncs := 0
	for running := true; running; syncs++ {
		select {
		case <-done:
			running = false
		default:
		}
		if err := live.sync(ctx, dbs[syncs%2]); err != nil {
			t.Fatal(err)
		}
	}
	fresh, err := newAuditor("carnot audit dev", signer)
	if err != nil {
		t.Fatal(err)
	}
	if err := fresh.sync(ctx, dbs[0]); err != nil {
		t.Fatal(err)
	}
	n, _ := live.log.Size()
	m, _ := fresh.log.Size()
	if n != writers*writes || m != n {
		t.Fatalf("the live tree holds %d entries, a fresh one %d; want %d", n, m, writers*writes)
	}
	a, _ := live.log.TreeHash(n)
	b, _ := fresh.log.TreeHash(m)
	if a != b {
		t.Fatalf("after %d syncs: the live tree's root %s, a fresh one's %s", syncs, a, b)
	}
}
