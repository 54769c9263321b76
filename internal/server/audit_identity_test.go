package server

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/note"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/audit"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/store"
	"github.com/carnot-dc/carnot/internal/store/postgres"
	"github.com/carnot-dc/carnot/internal/store/sqlite"
)

// storeKinds makes, for each kind of store, a storeOf: a SQLite file,
// or a schema of $CARNOT_TEST_POSTGRES (the PostgreSQL case skips
// without it).
var storeKinds = []struct {
	name string
	make func(t *testing.T) storeOf
}{
	{"sqlite", func(t *testing.T) storeOf {
		path := filepath.Join(t.TempDir(), "carnot.db")
		return storeOf{
			open: func() store.Store {
				db, err := sqlite.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db
			},
			exec: func(q string) {
				db, err := sql.Open("sqlite", path)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				if _, err := db.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			},
		}
	}},
	{"postgres", func(t *testing.T) storeOf {
		url := pgSchemaURL(t)
		return storeOf{
			open: func() store.Store {
				db, err := postgres.Open(context.Background(), url)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db
			},
			exec: func(q string) {
				ctx := context.Background()
				conn, err := pgx.Connect(ctx, url)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close(ctx)
				if _, err := conn.Exec(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			},
		}
	}},
}

// storeOf is one store of a test: open opens it (again) and exec runs a
// statement on it directly, as someone with access to the database.
type storeOf struct {
	open func() store.Store
	exec func(q string)
}

// auditServer starts a server on st whose audit log signer signs, as
// carnot server does: the auditor is New's.
func auditServer(t *testing.T, st store.Store, fac *model.Facility, signer note.Signer, clk *clock) *env {
	t.Helper()
	s, err := New(context.Background(), Config{Facility: fac, DynamicNodes: true, Store: st, Now: clk.now,
		Heartbeat: time.Second, HeartbeatTimeout: 10 * time.Second, KillTimeout: 5 * time.Second,
		TokenKey: testTokenKey, AuditSigner: signer})
	if err != nil {
		t.Fatal(err)
	}
	return envOf(t, s, t.TempDir(), clk)
}

// The log's identity outlives the facility file's name and its signer
// key: a server restarted under another signer key records the change in
// the log (both keys named), and one restarted with the facility renamed
// keeps the log's origin, so that a checkpoint a tenant kept is still of
// this log and proven a prefix of the new one (with the previous key to
// open it).
func TestAuditKeyChangeIsLoggedAndOriginKept(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			open := kind.make(t).open
			clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
			oldSigner, oldV := auditKeys(t)
			newSigner, newV := auditKeys(t)
			st := open()
			e := auditServer(t, st, DevFacility("local", "FR"), oldSigner, clk)
			e.register("n1", "local", 8)
			e.submit(spec(1, 1))
			kept := e.checkpointNow(oldV)
			st.Close()

			// The same key: nothing to record.
			st = open()
			e = auditServer(t, st, DevFacility("local", "FR"), oldSigner, clk)
			if evs := keyEvents(t, e); len(evs) != 0 {
				t.Fatalf("a restart under the same key recorded %+v", evs)
			}
			st.Close()

			renamed := DevFacility("local", "FR")
			renamed.Name = "paris"
			st = open()
			e = auditServer(t, st, renamed, newSigner, clk)
			evs := keyEvents(t, e)
			oldID, newID := fmt.Sprintf("%s+%08x", oldSigner.Name(), oldSigner.KeyHash()), fmt.Sprintf("%s+%08x", newSigner.Name(), newSigner.KeyHash())
			if len(evs) != 1 || !strings.Contains(evs[0].Message, newID) || !strings.Contains(evs[0].Message, oldID) {
				t.Fatalf("events of the key change: %+v, want one naming %s and %s", evs, newID, oldID)
			}
			now := e.checkpointNow(newV)
			if now.Origin != kept.Origin {
				t.Fatalf("origin %q after the facility was renamed, want the log's %q", now.Origin, kept.Origin)
			}
			ck, proof := e.consistency(e.h, asIs, newV, kept.Size, fmt.Sprintf("old=%d", kept.Size))
			if err := audit.VerifyConsistency(kept, ck, proof); err != nil {
				t.Fatalf("the checkpoint kept under the previous key: %v", err)
			}
		})
	}
}

// keyEvents are the events that record a change of the audit signer key.
func keyEvents(t *testing.T, e *env) []api.Event {
	t.Helper()
	evs, err := e.s.store.Events(context.Background(), store.EventFilter{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	var out []api.Event
	for _, ev := range evs {
		if ev.Actor == actorAuditKey {
			out = append(out, ev)
		}
	}
	return out
}
