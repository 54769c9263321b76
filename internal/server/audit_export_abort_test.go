package server

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// An export that fails after its first bytes were sent (a row changed
// in the events table, read back past the first batch of entries) is
// cut off as a failed response, so that the client sees an error: carnot
// audit export fails instead of writing the entries before the row, with
// no checkpoint, and saying it wrote the log. Before, the handler
// returned normally and the response ended cleanly: a 200 whose body
// merely lacked its checkpoint, taken for a whole export.
func TestAuditExportFailingMidwayIsAnError(t *testing.T) {
	st := storeKinds[0].make(t)
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	signer, _ := auditKeys(t)
	e := auditServer(t, st.open(), DevFacility("local", "FR"), signer, clk)
	e.register("n1", "local", 8)
	// more entries than an export reads at once (1,024), so that the
	// first batch is sent before the changed row is read
	st.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1100)
		INSERT INTO events (time, job, tenant, node, type, message, actor)
		SELECT (SELECT time FROM events ORDER BY seq LIMIT 1), '', 'default', '', 'policy', 'filler ' || i, 'test' FROM n`)
	if code, body := e.get("/v1/audit/checkpoint"); code != 200 { // the rows become entries
		t.Fatalf("checkpoint: %d %s", code, body)
	}
	st.exec("UPDATE events SET message = message || ' (edited)' WHERE seq = (SELECT MAX(seq) FROM events)")

	hs := httptest.NewServer(e.h)
	defer hs.Close()
	resp, err := hs.Client().Get(hs.URL + "/v1/audit/export")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "filler 1") {
		t.Fatalf("export: %d, %d bytes; want the first batch sent before the changed row", resp.StatusCode, len(body))
	}
	if err == nil {
		t.Errorf("an export cut short by a changed row read as whole: %d bytes, checkpoint %v, and no error", len(body), strings.Contains(string(body), `"checkpoint"`))
	}
}
