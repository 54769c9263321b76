package server

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A row the audit log cannot encode as it is (text that is not UTF-8,
// which SQLite keeps as written; PostgreSQL refuses it) does not stop
// the log for every tenant for good: the entry carries the text as JSON
// reads it (U+FFFD for each run of bad bytes), the same at every rebuild, and the
// witness records the rewrite of what was signed before.
func TestAuditLogOfARowNotUTF8(t *testing.T) {
	st := storeKinds[0].make(t)
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	witness := filepath.Join(t.TempDir(), "audit.last")
	signer, v := auditKeys(t)
	fac := DevFacility("local", "FR")
	db := st.open()
	e := witnessServer(t, db, fac, signer, clk, witness)
	e.register("n1", "local", 8)
	e.submit(spec(1, 1))
	e.checkpointNow(v)
	db.Close()

	st.exec("UPDATE events SET message = CAST(X'6E6F7420FF7574662D38' AS TEXT) WHERE seq = (SELECT MIN(seq) FROM events)")
	for range 2 {
		db = st.open()
		e = witnessServer(t, db, fac, signer, clk, witness)
		code, body := e.get("/v1/audit/export")
		if code != 200 {
			t.Fatalf("export after a row was made not UTF-8: %d %s", code, body)
		}
		if !strings.Contains(string(body), "not \ufffdutf-8") {
			t.Errorf("the export lacks the row as JSON reads it:\n%s", body)
		}
		db.Close()
	}
	db = st.open()
	e = witnessServer(t, db, fac, signer, clk, witness)
	if evs := rewriteEvents(t, e); len(evs) != 1 {
		t.Errorf("events of the rewrite: %+v, want one", evs)
	}
}
