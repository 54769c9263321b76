package server

import (
	"context"
	"testing"
	"time"
)

// The records the server keeps only to tell what changed since its last
// start (the audit log's key, the terms, the sovereignty policy) never keep it from starting: one
// that cannot be read (edited in the database) is logged and recorded
// afresh, and the next start compares against it again.
func TestUnreadableChangeRecordsDoNotStopTheStart(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			st := kind.make(t)
			clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
			signer, _ := auditKeys(t)
			other, _ := auditKeys(t)
			fac := DevFacility("local", "FR")
			db := st.open()
			auditServer(t, db, fac, signer, clk)
			db.Close()
			st.exec("UPDATE records SET doc = 'not json' WHERE kind = 'audit-log' OR kind = 'policy'")
			db = st.open()
			if _, err := New(context.Background(), Config{Facility: fac, DynamicNodes: true, Store: db, Now: clk.now,
				TokenKey: testTokenKey, AuditSigner: signer}); err != nil {
				t.Fatalf("a start over unreadable records: %v", err)
			}
			db.Close()
			db = st.open()
			e := auditServer(t, db, fac, other, clk)
			if evs := keyEvents(t, e); len(evs) != 1 {
				t.Fatalf("a key change after the records were made afresh: %+v, want one event", evs)
			}
		})
	}
}
