package postgres

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// Two replicas on one database: one holds the lease, the other cannot
// take it until it expires; then the epoch grows and the deposed leader's
// fenced writes are refused by the database, never applied.
func TestLeaseAndFencing(t *testing.T) {
	u := newSchema(t)
	ctx := context.Background()
	open := func() *DB {
		db, err := Open(ctx, poolURL(u))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a, b := open(), open()
	la, err := a.Campaign(ctx, "a", "https://a:7461", 300*time.Millisecond)
	if err != nil || la.Holder != "a" || la.Epoch != 1 {
		t.Fatalf("a's campaign: %+v, %v; want a holding epoch 1", la, err)
	}
	if lb, err := b.Campaign(ctx, "b", "https://b:7461", time.Second); err != nil || lb.Holder != "a" || lb.Address != "https://a:7461" {
		t.Fatalf("b's campaign while a holds: %+v, %v; want a's lease", lb, err)
	}
	if la2, err := a.Campaign(ctx, "a", "https://a:7461", 300*time.Millisecond); err != nil || la2.Epoch != 1 {
		t.Fatalf("a's renewal: %+v, %v; want the same epoch", la2, err)
	}
	fenced := store.WithFence(ctx, la.Epoch)
	ev := func(msg string) []api.Event {
		return []api.Event{{Time: time.Now(), Type: api.EventNode, Message: msg}}
	}
	if err := a.Update(fenced, nil, ev("a while leader")); err != nil {
		t.Fatalf("a's fenced write while leader: %v", err)
	}
	time.Sleep(400 * time.Millisecond) // a's lease expires
	lb, err := b.Campaign(ctx, "b", "https://b:7461", time.Second)
	if err != nil || lb.Holder != "b" || lb.Epoch != 2 {
		t.Fatalf("b's campaign after a's lease expired: %+v, %v; want b at epoch 2", lb, err)
	}
	err = a.Update(fenced, nil, ev("a deposed"))
	if !errors.Is(err, store.ErrFenced) {
		t.Fatalf("the deposed leader's write: %v, want ErrFenced", err)
	}
	if _, _, err := a.CreateJob(fenced, &api.Job{ID: "j", Tenant: "t", Kind: "job", PriorityClass: "p", State: api.StatePending, SubmitTime: time.Now()},
		"", &api.Event{Time: time.Now(), Job: "j", Tenant: "t", Type: api.EventSubmitted}); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("the deposed leader's CreateJob: %v, want ErrFenced", err)
	}
	if err := a.ForgetNodes(fenced, []string{"n1"}, ev("a deposed forgets")); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("the deposed leader's ForgetNodes: %v, want ErrFenced", err)
	}
	if err := b.Update(store.WithFence(ctx, lb.Epoch), nil, ev("b leader")); err != nil {
		t.Fatalf("the new leader's write: %v", err)
	}
	if err := a.Update(ctx, nil, ev("unfenced")); err != nil { // API writes of any replica
		t.Fatalf("an unfenced write: %v", err)
	}
	evs, err := b.Events(ctx, store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.Message)
	}
	if len(got) != 3 || got[0] != "a while leader" || got[1] != "b leader" || got[2] != "unfenced" {
		t.Errorf("events %q: the deposed leader's writes must be absent", got)
	}
	if err := b.Resign(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if la, err := a.Campaign(ctx, "a", "https://a:7461", time.Second); err != nil || la.Holder != "a" || la.Epoch != 3 {
		t.Errorf("a's campaign after b resigned: %+v, %v; want a at epoch 3", la, err)
	}
}

// A leader stalled between the statements of its batch and the COMMIT (a
// SIGSTOP, a frozen VM, a long pause; or cut off from the database, which
// the server cannot tell apart) holds the lease row, which its fencing
// check locks FOR SHARE, and the events lock. The database must end that
// transaction, so that a standby takes the lease and writes after the
// lease expired, instead of waiting for the stalled leader to resume.
func TestStalledLeaderDoesNotBlockFailover(t *testing.T) {
	u := newSchema(t)
	ctx := context.Background()
	open := func() *DB {
		db, err := Open(ctx, poolURL(u))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a, b := open(), open()
	la, err := a.Campaign(ctx, "a", "https://a:7461", 300*time.Millisecond)
	if err != nil || la.Holder != "a" {
		t.Fatalf("a's campaign: %+v, %v", la, err)
	}
	// a's committer stalls once its batch's statements have run: its
	// transaction is open, idle, holding the locks.
	stalled, resume := make(chan struct{}), make(chan struct{})
	var once sync.Once
	wrote := make(chan error, 1)
	go func() {
		wrote <- a.write(store.WithFence(ctx, la.Epoch), "stall", func(b *pgx.Batch, _ *error) {
			queueEvent(b, eventRow{Time: "2026-03-14T09:00:00.000000000Z", Message: "stalled"}, new(int64))
			b.Queue("SELECT 1").Fn = func(br pgx.BatchResults) error {
				_, err := br.Exec()
				once.Do(func() { close(stalled) })
				<-resume
				return err
			}
		}, nil)
	}()
	<-stalled
	defer close(resume)
	time.Sleep(400 * time.Millisecond) // a's lease expires

	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	t0 := time.Now()
	lb, err := b.Campaign(cctx, "b", "https://b:7461", time.Second)
	if err != nil || lb.Holder != "b" || lb.Epoch != la.Epoch+1 {
		t.Fatalf("b's campaign while a is stalled: %+v, %v after %s; want b at epoch %d",
			lb, err, time.Since(t0).Round(time.Millisecond), la.Epoch+1)
	}
	if err := b.Update(store.WithFence(cctx, lb.Epoch), nil,
		[]api.Event{{Time: time.Now(), Type: api.EventNode, Message: "b leader"}}); err != nil {
		t.Fatalf("the new leader's write: %v", err)
	}
	t.Logf("b took the lease %s after a stalled", time.Since(t0).Round(time.Millisecond))
	resume <- struct{}{}
	if err := <-wrote; err == nil {
		t.Errorf("a's stalled write succeeded after b took the lease")
	}
	evs, err := b.Events(ctx, store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Message == "stalled" {
			t.Errorf("the stalled leader's write was applied: %+v", e)
		}
	}
}

// A standby's campaign that finds the lease held reads it without
// entering the store again: entered twice, it waited behind a Close
// that waited for it, and the process never stopped.
func TestCloseDuringALostCampaign(t *testing.T) {
	u := newSchema(t)
	ctx := context.Background()
	a, err := Open(ctx, poolURL(u))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Campaign(ctx, "a", "https://a:7461", time.Minute); err != nil {
		t.Fatal(err)
	}
	b, err := Open(ctx, poolURL(u))
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	testHookCampaignLost = func() {
		go func() { closed <- b.Close() }()
		// Let Close reach the lock it waits on behind this campaign.
		time.Sleep(100 * time.Millisecond)
	}
	defer func() { testHookCampaignLost = nil }()
	campaign := make(chan error, 1)
	go func() {
		l, err := b.Campaign(ctx, "b", "https://b:7461", time.Minute)
		if err == nil && l.Holder != "a" {
			err = errors.New("b took a held lease: " + l.Holder)
		}
		campaign <- err
	}()
	for name, ch := range map[string]chan error{"campaign": campaign, "close": closed} {
		select {
		case err := <-ch:
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s still blocked after 10 s: the campaign and Close wait for each other", name)
		}
	}
}
