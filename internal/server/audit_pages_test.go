package server

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/audit"
)

// A tenant's entries come a page at a time (limit, at most
// maxAuditPage), each page proven against the tree of the size the
// caller names (size, that of the first page's checkpoint), the next
// page after the last entry (after): the pages together are the
// tenant's entries, once each, in seq order, every proof checking
// against the one checkpoint. A response is bounded however long the
// log, and a bad parameter is a 400 naming it.
func TestAuditEntriesComeInPages(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			open := kind.make(t).open
			clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
			signer, v := auditKeys(t)
			e := auditServer(t, open(), DevFacility("local", "FR"), signer, clk)
			for i := range 12 {
				if _, err := e.s.MintToken(context.Background(), api.TokenRequest{Name: fmt.Sprintf("v%d", i), Role: "viewer", Tenant: "default"}, "test"); err != nil {
					t.Fatal(err)
				}
			}
			var all api.AuditEntries
			if code := e.do("GET", "/v1/audit/entries?tenant=default", nil, &all); code != 200 || len(all.Entries) < 12 || all.Next != nil {
				t.Fatalf("one page: %d, %d entries, next %v", code, len(all.Entries), all.Next)
			}
			first, err := audit.OpenCheckpoint([]byte(all.Checkpoint), v)
			if err != nil {
				t.Fatal(err)
			}
			// The log grows between the pages: they stay proven in the first's tree.
			var got []api.AuditEntry
			path := "/v1/audit/entries?tenant=default&limit=5"
			for pages := 0; ; pages++ {
				var p api.AuditEntries
				if code := e.do("GET", path, nil, &p); code != 200 || len(p.Entries) > 5 {
					t.Fatalf("%s: %d, %d entries", path, code, len(p.Entries))
				}
				ck, err := audit.OpenCheckpoint([]byte(p.Checkpoint), v)
				if err != nil || ck.Size != first.Size || ck.Root != first.Root {
					t.Fatalf("%s: checkpoint of tree size %d (%v), want the first page's %d", path, ck.Size, err, first.Size)
				}
				for _, ae := range p.Entries {
					en, err := audit.ParseEntry(ae.Entry)
					if err != nil {
						t.Fatal(err)
					}
					proof, err := audit.DecodeHashes(ae.Proof)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := audit.VerifyInclusion(en, proof, []byte(p.Checkpoint), v); err != nil {
						t.Errorf("%s: entry %d: %v", path, en.Seq, err)
					}
				}
				got = append(got, p.Entries...)
				if p.Next == nil {
					break
				}
				if pages > 10 {
					t.Fatal("more pages than entries")
				}
				path = fmt.Sprintf("/v1/audit/entries?tenant=default&limit=5&after=%d&size=%d", *p.Next, ck.Size)
				e.s.MintToken(context.Background(), api.TokenRequest{Name: "more", Role: "viewer", Tenant: "default"}, "test")
			}
			if len(got) != len(all.Entries) {
				t.Fatalf("the pages hold %d entries, the whole list %d", len(got), len(all.Entries))
			}
			for i := range got {
				if string(got[i].Entry) != string(all.Entries[i].Entry) {
					t.Errorf("page entry %d: %s, want %s", i, got[i].Entry, all.Entries[i].Entry)
				}
			}
			for _, q := range []struct{ query, field string }{
				{"limit=0", "limit"}, {fmt.Sprintf("limit=%d", maxAuditPage+1), "limit"}, {"after=x", "after"},
				{"size=0", "size"}, {fmt.Sprintf("size=%d", first.Size+1000), "size"},
			} {
				var p api.Problem
				code := e.do("GET", "/v1/audit/entries?tenant=default&"+q.query, nil, &p)
				if code != http.StatusBadRequest || len(p.Errors) != 1 || p.Errors[0].Field != q.field {
					t.Errorf("%s: %d %+v, want 400 naming %s", q.query, code, p, q.field)
				}
			}
		})
	}
}
