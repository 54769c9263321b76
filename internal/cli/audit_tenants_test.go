package cli

import (
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/audit"
)

// A tenant's export holds one tenant's entries, each once, in seq order:
// one that mixes tenants (another tenant's entry slipped in, or a file
// taken for another) or lists an entry twice is refused, naming the
// entry, though each entry's proof checks; the ok line names the tenant.
func TestTenantExportOfOneTenantOnly(t *testing.T) {
	dir := t.TempDir()
	skey, vkey, err := note.GenerateKey(rand.Reader, "carnot-test")
	if err != nil {
		t.Fatal(err)
	}
	mixed := filepath.Join(dir, "mixed.json")
	exportOf(t, skey, mixed, func(e audit.Entry) bool { return e.Tenant == "acme" || e.Seq == 6 })
	code, out, errOut := mainOut("audit", "verify", "--key", vkey, mixed)
	if code != ExitFailure || !strings.Contains(errOut, "entries[6] (seq 6) is of tenant globex, entries[0] of tenant acme") {
		t.Errorf("an export mixing tenants: exit %d: %s%s", code, out, errOut)
	}
	twice := filepath.Join(dir, "twice.json")
	exportOf(t, skey, twice, func(e audit.Entry) bool { return e.Tenant == "acme" })
	data, err := os.ReadFile(twice)
	if err != nil {
		t.Fatal(err)
	}
	var doc api.AuditEntries
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	doc.Entries = append(doc.Entries, doc.Entries[len(doc.Entries)-1])
	if data, err = json.Marshal(doc); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(twice, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = mainOut("audit", "verify", "--key", vkey, twice)
	if code != ExitFailure || !strings.Contains(errOut, audit.ErrReordered.Error()) || !strings.Contains(errOut, "entries[8]") {
		t.Errorf("an export listing an entry twice: exit %d: %s%s", code, out, errOut)
	}
}
