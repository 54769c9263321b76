package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// garbledEvents is a store whose Events returns event seq with a time no
// audit entry can hold (past year 9999) while garbled is set: a batch
// whose append fails part-way.
type garbledEvents struct {
	store.Store
	seq     int64
	garbled bool
}

func (g *garbledEvents) Events(ctx context.Context, f store.EventFilter) ([]api.Event, error) {
	evs, err := g.Store.Events(ctx, f)
	for i := range evs {
		if g.garbled && evs[i].Seq == g.seq {
			evs[i].Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
		}
	}
	return evs, err
}

// A sync whose batch fails part-way leaves the tree holding the events
// before the failure, once each: the next syncs append the rest and
// nothing twice. Before the fix, every failed sync appended the entries
// before the failing one again, as duplicate leaves.
func TestAuditFailedSyncAppendsNothingTwice(t *testing.T) {
	signer, _ := auditKeys(t)
	e := newEnv(t, DevFacility("local", "FR"), true)
	a, err := newAuditor("carnot audit dev", signer)
	if err != nil {
		t.Fatal(err)
	}
	e.s.audit = a
	e.register("n1", "local", 8)
	e.submit(spec(1, 1))
	ctx := context.Background()
	evs, err := e.s.store.Events(ctx, store.EventFilter{Limit: 10000})
	if err != nil || len(evs) < 3 {
		t.Fatalf("events: %d, %v; want 3 at least", len(evs), err)
	}
	bad := evs[len(evs)-1]
	g := &garbledEvents{Store: e.s.store, seq: bad.Seq, garbled: true}
	for range 2 {
		if err := a.sync(ctx, g); err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Fatalf("sync over a garbled event: %v, want its time's error", err)
		}
		checkTree(t, a, evs[:len(evs)-1])
	}
	g.garbled = false
	if err := a.sync(ctx, g); err != nil {
		t.Fatal(err)
	}
	checkTree(t, a, evs)
}

// checkTree fails the test unless a's tree holds exactly evs, in order.
func checkTree(t *testing.T, a *auditor, evs []api.Event) {
	t.Helper()
	size, err := a.log.Size()
	if err != nil {
		t.Fatal(err)
	}
	if size != int64(len(evs)) {
		t.Fatalf("the tree holds %d entries, want the %d events", size, len(evs))
	}
	entries, err := a.log.Entries(t.Context(), 0, size)
	if err != nil {
		t.Fatal(err)
	}
	for i, en := range entries {
		ev := evs[i]
		if en.Action != ev.Type || en.Detail != ev.Message || en.Job != ev.Job || !en.Time.Equal(ev.Time) {
			t.Errorf("entry %d is %+v, want event %d %+v", i, en, ev.Seq, ev)
		}
	}
	if len(evs) > 0 && a.lastSeq != evs[len(evs)-1].Seq {
		t.Errorf("synced to event %d, want %d", a.lastSeq, evs[len(evs)-1].Seq)
	}
}
