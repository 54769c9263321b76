package server

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/audit"
	"github.com/carnot-dc/carnot/internal/store"
)

// The server's audit log keeps its hashes in memory, not its entries:
// they are read back from the events table, and an export is byte for
// byte the export of a log that kept every entry in memory. A row of the
// events table changed after it was logged is refused at the read,
// naming the event, instead of being served under a proof it no longer
// matches (before, the entry kept in memory was served, and the change
// found only at a restart with a witness).
func TestAuditEntriesReadBackFromTheEvents(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			st := kind.make(t)
			clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
			signer, _ := auditKeys(t)
			db := st.open()
			e := auditServer(t, db, DevFacility("local", "FR"), signer, clk)
			e.register("n1", "local", 8)
			for range 3 {
				e.submit(spec(1, 1))
			}
			if e.s.audit.events == nil {
				t.Fatal("the server's audit log keeps its entries in memory")
			}
			code, got := e.get("/v1/audit/export")
			if code != 200 {
				t.Fatalf("export: %d %s", code, got)
			}
			// the same events in a log that keeps its entries in memory
			mem, err := newAuditor(e.s.audit.log.Origin(), signer)
			if err != nil {
				t.Fatal(err)
			}
			if err := mem.sync(context.Background(), db); err != nil {
				t.Fatal(err)
			}
			n, _ := e.s.audit.log.Size()
			ck, err := mem.signAt(n)
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			if err := audit.Export(t.Context(), &want, mem.log, []audit.Checkpoint{ck}); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Errorf("the export read back from the events:\n%s\nthe export of the entries kept in memory:\n%s", got, want.Bytes())
			}

			st.exec("UPDATE events SET message = message || ' (edited)' WHERE seq = (SELECT MIN(seq) FROM events WHERE tenant = 'default')")
			for _, path := range []string{"/v1/audit/export", "/v1/audit/entries?tenant=default"} {
				code, body := e.get(path)
				// 500: no retry mends it (503 would ask for one)
				if code != 500 || !strings.Contains(string(body), "was changed in the events table after it was logged") {
					t.Errorf("GET %s after a logged row was edited: %d %s", path, code, body)
				}
			}
		})
	}
}

// A sync that fails part-way appends nothing twice when the entries are
// read back from the events table, as when they are kept in memory
// (TestAuditFailedSyncAppendsNothingTwice): the events noted for the
// failed batch do not shift the next one's.
func TestAuditFailedSyncAppendsNothingTwiceReadBack(t *testing.T) {
	signer, _ := auditKeys(t)
	e := newEnv(t, DevFacility("local", "FR"), true)
	a, err := newAuditor("carnot audit dev", signer)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.readFrom(e.s.store); err != nil {
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
	g := &garbledEvents{Store: e.s.store, seq: evs[len(evs)-2].Seq, garbled: true}
	if err := a.sync(ctx, g); err == nil {
		t.Fatal("a sync over a garbled event succeeded")
	}
	checkTree(t, a, evs[:len(evs)-2])
	g.garbled = false
	if err := a.sync(ctx, g); err != nil {
		t.Fatal(err)
	}
	checkTree(t, a, evs)
}

// entriesAt reads runs of close entries together and returns exactly the
// entries asked for, in order, as reading each alone does.
func TestAuditEntriesAtReadsRuns(t *testing.T) {
	signer, _ := auditKeys(t)
	a, err := newAuditor("carnot audit runs", signer)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var all []audit.Entry
	for i := range 200 {
		all = append(all, audit.Entry{Time: t0.Add(time.Duration(i) * time.Second), Kind: audit.KindAPI,
			Actor: "api", Tenant: "acme", Action: "submitted", Detail: strings.Repeat("x", i%7)})
	}
	if _, err := a.log.Append(all...); err != nil {
		t.Fatal(err)
	}
	for _, seqs := range [][]int64{nil, {0}, {199}, {0, 1, 5, 40, 41, 100, 116, 117, 199}, {3, 3 + entryGap, 3 + 2*entryGap + 1}} {
		got, err := a.entriesAt(t.Context(), seqs)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(seqs) {
			t.Fatalf("entriesAt(%v): %d entries", seqs, len(got))
		}
		for i, seq := range seqs {
			if got[i].Seq != seq || got[i].Detail != all[seq].Detail {
				t.Errorf("entriesAt(%v)[%d] = entry %d %q, want %d %q", seqs, i, got[i].Seq, got[i].Detail, seq, all[seq].Detail)
			}
		}
	}
}

// The server's store read while the log is appended to never counts an
// entry whose event it cannot read back: at each size a reader sees, the
// last entry is read back, checked against its leaf (its hashes are kept
// apart from its event, in an audit.HashStore).
func TestAuditReadBackSizeHasItsEntries(t *testing.T) {
	st := storeKinds[0].make(t)
	db := st.open()
	signer, _ := auditKeys(t)
	e := auditServer(t, db, DevFacility("local", "FR"), signer, &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)})
	e.register("n1", "local", 8)
	st.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
		INSERT INTO events (time, job, tenant, node, type, message, actor)
		SELECT (SELECT time FROM events ORDER BY seq LIMIT 1), '', 'default', '', 'policy', 'filler ' || i, 'test' FROM n`)
	evs, err := db.Events(t.Context(), store.EventFilter{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	a, err := newAuditor("carnot audit race", signer)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.readFrom(db); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for _, ev := range evs {
			a.events.expect([]api.Event{ev})
			if _, err := a.log.Append(a.validUTF8(ev.Seq, entryOf(ev))); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for size := int64(0); size < int64(len(evs)); {
		if size, err = a.log.Size(); err != nil {
			t.Fatal(err)
		}
		if size == 0 {
			continue
		}
		if _, err := a.log.Entries(t.Context(), size-1, size); err != nil {
			t.Fatalf("at size %d: %v", size, err)
		}
		if _, err := a.log.InclusionProof(size-1, size); err != nil {
			t.Fatalf("at size %d: %v", size, err)
		}
	}
	wg.Wait()
}
