package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// testRecords: records are created, replaced and deleted with their
// events in one transaction, listed by kind in key order, survive a
// reopen, and an event's actor round-trips.
func testRecords(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	open := newDB(t)
	s := openStore(t, open)
	if _, err := s.Record(ctx, "token", "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Record of an empty store: %v, want ErrNotFound", err)
	}
	evs := []api.Event{{Time: at(0), Type: "token", Message: "created token b", Actor: "token:admin"}}
	err := s.PutRecords(ctx, []store.Record{
		{Kind: "token", Key: "b", Doc: []byte(`{"n":2}`)},
		{Kind: "token", Key: "a", Doc: []byte{0, 1, 2, 255}},
		{Kind: "secret", Key: "a", Doc: []byte("sealed")},
	}, evs)
	if err != nil {
		t.Fatal(err)
	}
	if evs[0].Seq == 0 {
		t.Errorf("PutRecords gave the event no Seq")
	}
	if err := s.PutRecords(ctx, []store.Record{{Kind: "token", Key: "b", Doc: []byte(`{"n":3}`)}, {Kind: "secret", Key: "a"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRecords(ctx, []store.Record{{Kind: "", Key: "x", Doc: []byte("x")}}, nil); err == nil {
		t.Errorf("PutRecords of a record without a kind succeeded")
	}
	check := func(when string) {
		t.Helper()
		got, err := s.Records(ctx, "token")
		if err != nil {
			t.Fatal(err)
		}
		want := []store.Record{{Kind: "token", Key: "a", Doc: []byte{0, 1, 2, 255}}, {Kind: "token", Key: "b", Doc: []byte(`{"n":3}`)}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: Records(token) (-want +got):\n%s", when, diff)
		}
		if got, err := s.Records(ctx, "secret"); err != nil || len(got) != 0 {
			t.Errorf("%s: Records(secret) = %v, %v; want none (deleted)", when, got, err)
		}
		doc, err := s.Record(ctx, "token", "b")
		if err != nil || string(doc) != `{"n":3}` {
			t.Errorf("%s: Record(token, b) = %q, %v", when, doc, err)
		}
		stored, err := s.Events(ctx, store.EventFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(stored) != 1 || stored[0].Actor != "token:admin" || stored[0].Seq != evs[0].Seq {
			t.Errorf("%s: events = %+v; want the one event with its actor", when, stored)
		}
	}
	check("before a reopen")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, open)
	check("after a reopen")
}
