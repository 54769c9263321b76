package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// Across a rotation of the server's audit signer key, a checkpoint kept
// under the previous key opens with --previous-key, and the log is still
// proven to extend it (consistency, and verify of a whole export); what
// the server signs now must be signed by --key, never by a previous key
// alone.
func TestAuditChecksAcrossKeyRotation(t *testing.T) {
	oldSigner, oldKey := auditKeyPair(t, "carnot-test")
	newSigner, newKey := auditKeyPair(t, "carnot-test")
	live, dir := t.TempDir(), t.TempDir()
	kept, last, export := filepath.Join(dir, "kept.note"), filepath.Join(dir, "last.note"), filepath.Join(dir, "audit.jsonl")
	a := openAuditServer(t, live, oldSigner)
	ctx := context.Background()
	member, err := a.s.MintToken(ctx, api.TokenRequest{Name: "m", Role: "member", Tenant: "default"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	auditor, err := a.s.MintToken(ctx, api.TokenRequest{Name: "au", Role: "auditor"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	a.grow(t, "a", 3)
	if code, out, errOut := mainOut("audit", "consistency", "--server", a.url, "--token", member.Secret, "--key", oldKey, "--save", kept); code != 0 {
		t.Fatalf("the first check: exit %d: %s%s", code, out, errOut)
	}
	a.stop()
	a = openAuditServer(t, live, newSigner)
	a.grow(t, "b", 2)
	if code, out, errOut := mainOut("audit", "export", "--server", a.url, "--token", auditor.Secret, "-o", export); code != 0 {
		t.Fatalf("export: exit %d: %s%s", code, out, errOut)
	}

	for _, c := range []struct {
		name string
		args []string
		want string // ok's start, or the error's
	}{
		{"consistency, the new key only", []string{"audit", "consistency", "--server", a.url, "--token", member.Secret, "--key", newKey, "--checkpoint", kept},
			"checkpoint signature does not verify"},
		{"consistency, the previous key too", []string{"audit", "consistency", "--server", a.url, "--token", member.Secret, "--key", newKey, "--previous-key", oldKey, "--checkpoint", kept, "--save", last},
			"ok: tree size "},
		{"consistency, the server's checkpoint under a previous key", []string{"audit", "consistency", "--server", a.url, "--token", member.Secret, "--key", oldKey, "--previous-key", newKey, "--checkpoint", kept},
			"the server's checkpoint: checkpoint signature does not verify"},
		{"verify, the previous key too", []string{"audit", "verify", "--key", newKey, "--previous-key", oldKey, "--checkpoint", kept, export},
			"ok: "},
		{"verify, the export's checkpoint under a previous key", []string{"audit", "verify", "--key", oldKey, "--previous-key", newKey, "--checkpoint", kept, export},
			"checkpoint signature does not verify"},
		{"verify, the kept checkpoint is the new key's", []string{"audit", "verify", "--key", newKey, "--previous-key", oldKey, "--checkpoint", last, export},
			"ok: "},
	} {
		code, out, errOut := mainOut(c.args...)
		if strings.HasPrefix(c.want, "ok: ") {
			if code != 0 || !strings.HasPrefix(out, c.want) {
				t.Errorf("%s: exit %d: %s%s", c.name, code, out, errOut)
			}
			continue
		}
		if code != ExitFailure || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: exit %d: %s%s; want %q", c.name, code, out, errOut, c.want)
		}
	}
}
