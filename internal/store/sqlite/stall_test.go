package sqlite

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// result waits for a call's error, failing the test if the call is still
// waiting after 10 s (it would wait for as long as the disk hangs).
func result(t *testing.T, what string, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s still waits 10s into a stalled commit", what)
		return nil
	}
}

// A commit whose sync never returns (a disk that stopped answering) holds
// its caller until the caller's deadline, not for ever: the write fails
// with ErrStalled, its outcome unknown. Until it ends, every read and
// write fails at once (a server rebuilt from reads that left out a write
// landing after them would be behind its store), and the writes queued
// behind it are given up, unwritten. Once the sync returns, the write
// has landed and the store answers again.
func TestStalledCommitFailsAtItsDeadline(t *testing.T) {
	db := openTest(t)
	held, synced := make(chan struct{}), make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(synced) }) }
	t.Cleanup(release) // before Close, which waits for the committer
	armed := true
	db.beforeCommit = func() {
		if armed {
			armed = false
			close(held)
			<-synced // the sync that does not return
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	stuck := make(chan error, 1)
	go func() { stuck <- db.PutNode(ctx, &api.Node{Name: "stuck"}) }()
	<-held
	queued := make(chan error, 1)
	go func() { queued <- db.PutNode(context.Background(), &api.Node{Name: "queued"}) }()
	waitQueued(t, db, 1)

	if err := result(t, "the write past its deadline", stuck); !errors.Is(err, ErrStalled) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the write past its deadline: %v, want ErrStalled and DeadlineExceeded", err)
	}
	if err := result(t, "the write queued behind it", queued); !errors.Is(err, ErrStalled) {
		t.Fatalf("the write queued behind it: %v, want ErrStalled", err)
	}
	if _, err := db.Nodes(context.Background()); !errors.Is(err, ErrStalled) {
		t.Errorf("a read while the commit is stalled: %v, want ErrStalled", err)
	}
	if _, err := db.Events(context.Background(), store.EventFilter{}); !errors.Is(err, ErrStalled) {
		t.Errorf("an events read while the commit is stalled: %v, want ErrStalled", err)
	}
	later := make(chan error, 1)
	go func() { later <- db.PutNode(context.Background(), &api.Node{Name: "later"}) }()
	if err := result(t, "a write while the commit is stalled", later); !errors.Is(err, ErrStalled) {
		t.Errorf("a write while the commit is stalled: %v, want ErrStalled", err)
	}

	release() // the disk answers again: the stalled commit lands
	var names []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		nodes, err := db.Nodes(context.Background())
		if err == nil {
			for _, n := range nodes {
				names = append(names, n.Name)
			}
			break
		}
		if !errors.Is(err, ErrStalled) || time.Now().After(deadline) {
			t.Fatalf("reading once the commit ended: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(names) != 1 || names[0] != "stuck" {
		t.Errorf("nodes after the stall: %v, want [stuck] (the stalled write landed; those refused did not)", names)
	}
	if err := db.PutNode(context.Background(), &api.Node{Name: "after"}); err != nil {
		t.Errorf("a write once the commit ended: %v", err)
	}
}

// A deadline that passes while a write waits in the queue is no stall:
// the committer, taking it, answers it with its context's error, and the
// store is not marked overdue (every other writer and reader would fail
// for it). Only a write whose batch runs past its deadline is.
func TestDeadlineInTheQueueIsNoStall(t *testing.T) {
	var s stall
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // its deadline passed before the committer took it
	queued := &request{ctx: ctx, done: make(chan error, 1)}
	if !s.giveUp(queued) || s.overdue() {
		t.Errorf("a taken write not yet started: giveUp says no outcome is coming, or the store is overdue (%v)", s.overdue())
	}
	if s.start(queued) || !errors.Is(<-queued.done, context.Canceled) {
		t.Error("the committer ran a write whose context had ended, or did not answer it with the context's error")
	}
	running := &request{ctx: context.Background(), done: make(chan error, 1)}
	if !s.start(running) {
		t.Fatal("a live write was not started")
	}
	alarm := s.signal()
	if s.giveUp(running) || !s.overdue() {
		t.Error("a write running past its deadline did not make the store overdue")
	}
	select {
	case <-alarm:
	default:
		t.Error("the alarm did not go off")
	}
	s.answer([]*request{running}, nil, nil)
	if s.overdue() || !running.answered {
		t.Error("the store is still overdue once the write was answered")
	}
}
