package cli

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/audit"
)

// tenantExport writes what 'carnot audit export --tenant acme' writes for
// a log of 20 entries of three tenants signed by skey: acme's entries,
// each with its inclusion proof, and the checkpoint they are proved in.
func tenantExport(t *testing.T, skey, path string) {
	t.Helper()
	exportOf(t, skey, path, func(e audit.Entry) bool { return e.Tenant == "acme" })
}

// exportOf is tenantExport of the entries keep keeps, in seq order.
func exportOf(t *testing.T, skey, path string, keep func(audit.Entry) bool) {
	t.Helper()
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.New("carnot audit test", audit.NewMemStore())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		e := demoEntry(i)
		e.Detail += " <&> of " + e.Tenant // escaped in canonical form
		if _, err := l.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	cp, err := l.Checkpoint(s)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := l.Entries(t.Context(), 0, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	out := api.AuditEntries{Checkpoint: string(cp.Note)}
	for _, e := range entries {
		if !keep(e) {
			continue
		}
		p, err := l.InclusionProof(e.Seq, cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		b, err := e.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		out.Entries = append(out.Entries, api.AuditEntry{Entry: b, Proof: audit.EncodeHashes(p)})
	}
	var b strings.Builder
	if err := printObject(&b, "json", out); err != nil { // as audit export --tenant writes it
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// 'carnot audit verify' checks a tenant's export ('carnot audit export
// --tenant'): the checkpoint's signature and each entry's inclusion
// proof, and says which entry is not proven. A tenant has no other tool
// to check the proofs the server hands it.
func TestAuditVerifyTenantExport(t *testing.T) {
	dir := t.TempDir()
	skey, vkey, err := note.GenerateKey(rand.Reader, "carnot-test")
	if err != nil {
		t.Fatal(err)
	}
	export := filepath.Join(dir, "acme.json")
	tenantExport(t, skey, export)
	saved := filepath.Join(dir, "last.note")
	code, out, errOut := mainOut("audit", "verify", "--key", vkey, "--save", saved, export)
	if code != 0 || !strings.HasPrefix(out, "ok: 8 entries of tenant acme proven included in tree size 20, root ") {
		t.Fatalf("verify a tenant export: exit %d: %s%s", code, out, errOut)
	}
	if b, err := os.ReadFile(saved); err != nil || !strings.HasPrefix(string(b), "carnot audit test\n20\n") {
		t.Errorf("--save wrote %q, %v; want the export's checkpoint", b, err)
	}

	data, err := os.ReadFile(export)
	if err != nil {
		t.Fatal(err)
	}
	tampered := filepath.Join(dir, "tampered.json")
	if err := os.WriteFile(tampered, []byte(strings.Replace(string(data), `"action": "cancel"`, `"action": "start"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = mainOut("audit", "verify", "--key", vkey, tampered)
	if code != ExitFailure || out != "" || !strings.Contains(errOut, audit.ErrNotIncluded.Error()) {
		t.Errorf("verify a tampered tenant export: exit %d: %s%s", code, out, errOut)
	}
	_, other, err := note.GenerateKey(rand.Reader, "carnot-test")
	if err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := mainOut("audit", "verify", "--key", other, export); code != ExitFailure || !strings.Contains(errOut, audit.ErrBadSignature.Error()) {
		t.Errorf("verify with another key: exit %d: %s", code, errOut)
	}
	// Consistency with a kept checkpoint needs a proof the export lacks.
	if code, _, errOut := mainOut("audit", "verify", "--key", vkey, "--checkpoint", saved, export); code != ExitUsage || !strings.Contains(errOut, "carnot audit consistency") {
		t.Errorf("verify --checkpoint of a tenant export: exit %d: %s", code, errOut)
	}
}
