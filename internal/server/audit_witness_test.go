package server

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/store"
)

// witnessServer is auditServer keeping its last signed checkpoint in
// witness.
func witnessServer(t *testing.T, st store.Store, fac *model.Facility, signer note.Signer, clk *clock, witness string) *env {
	t.Helper()
	s, err := New(context.Background(), Config{Facility: fac, DynamicNodes: true, Store: st, Now: clk.now,
		Heartbeat: time.Second, HeartbeatTimeout: 10 * time.Second, KillTimeout: 5 * time.Second,
		TokenKey: testTokenKey, AuditSigner: signer, AuditWitness: witness})
	if err != nil {
		t.Fatal(err)
	}
	return envOf(t, s, t.TempDir(), clk)
}

// A server never signs a history that does not extend the one it signed
// last without saying so: an event edited in the database (or the
// database restored from an older backup, its last events deleted) is found at the first
// checkpoint after the start, logged, and recorded in the log, naming
// the tree size and root the server had signed; the server goes on
// signing (it does not refuse to serve for good), and a start that finds
// the log as it signed it records nothing.
func TestRewrittenHistoryIsFoundByTheServer(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			st := kind.make(t)
			clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
			witness := filepath.Join(t.TempDir(), "audit.last")
			signer, v := auditKeys(t)
			fac := DevFacility("local", "FR")
			db := st.open()
			e := witnessServer(t, db, fac, signer, clk, witness)
			e.register("n1", "local", 8)
			e.submit(spec(1, 1))
			signed := e.checkpointNow(v)
			db.Close()

			db = st.open()
			e = witnessServer(t, db, fac, signer, clk, witness)
			e.checkpointNow(v)
			if evs := rewriteEvents(t, e); len(evs) != 0 {
				t.Fatalf("a log as it was signed: %+v", evs)
			}
			e.submit(spec(1, 1))
			e.checkpointNow(v)
			db.Close()

			st.exec("UPDATE events SET message = message || ' (edited)' WHERE seq = (SELECT MIN(seq) FROM events)")
			db = st.open()
			e = witnessServer(t, db, fac, signer, clk, witness)
			now := e.checkpointNow(v)
			evs := rewriteEvents(t, e)
			if len(evs) != 1 || !strings.Contains(evs[0].Message, "history rewritten") {
				t.Fatalf("after an edit in the database: %+v, want one event of the rewritten history", evs)
			}
			if now.Size <= signed.Size {
				t.Errorf("the checkpoint after the edit signs %d entries, want the event of the rewrite too (more than %d)", now.Size, signed.Size)
			}
			db.Close()

			db = st.open()
			e = witnessServer(t, db, fac, signer, clk, witness)
			e.checkpointNow(v)
			if evs := rewriteEvents(t, e); len(evs) != 1 {
				t.Fatalf("a start after the rewrite was recorded: %d events of it, want the one", len(evs))
			}
			db.Close()

			// The last events deleted: the log is shorter than signed.
			st.exec("DELETE FROM events WHERE seq > (SELECT MAX(seq) - 2 FROM events)")
			db = st.open()
			e = witnessServer(t, db, fac, signer, clk, witness)
			e.checkpointNow(v)
			if evs := rewriteEvents(t, e); len(evs) == 0 || !strings.Contains(evs[len(evs)-1].Message, "fewer than") {
				t.Fatalf("after the last events were deleted: %+v, want an event of the shorter log", evs)
			}
		})
	}
}

// rewriteEvents are the events of the server's own audit checks.
func rewriteEvents(t *testing.T, e *env) []api.Event {
	t.Helper()
	evs, err := e.s.store.Events(context.Background(), store.EventFilter{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	var out []api.Event
	for _, ev := range evs {
		if ev.Actor == "server:audit" {
			out = append(out, ev)
		}
	}
	return out
}
