package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// 'carnot audit export --tenant' follows the server's pages and writes
// them as one export, every entry proven in the first page's tree, which
// 'carnot audit verify' checks whole.
func TestTenantExportFollowsPages(t *testing.T) {
	signer, vkey := auditKeyPair(t, "carnot-test")
	a := openAuditServer(t, t.TempDir(), signer)
	tok, err := a.s.MintToken(context.Background(), api.TokenRequest{Name: "m", Role: "member", Tenant: "default"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	a.grow(t, "a", 8)
	defer func(n int) { auditPage = n }(auditPage)
	auditPage = 3
	out := filepath.Join(t.TempDir(), "default.json")
	if code, stdout, errOut := mainOut("audit", "export", "--server", a.url, "--token", tok.Secret, "--tenant", "default", "-o", out); code != 0 {
		t.Fatalf("export: exit %d: %s%s", code, stdout, errOut)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var doc api.AuditEntries
	if err := json.Unmarshal(b, &doc); err != nil || len(doc.Entries) != 9 || doc.Next != nil {
		t.Fatalf("the export: %d entries, next %v, %v; want the 9 token events of default, whole", len(doc.Entries), doc.Next, err)
	}
	if code, stdout, errOut := mainOut("audit", "verify", "--key", vkey, out); code != 0 || !strings.HasPrefix(stdout, "ok: 9 entries of tenant default proven included") {
		t.Fatalf("verify: exit %d: %s%s", code, stdout, errOut)
	}
}
