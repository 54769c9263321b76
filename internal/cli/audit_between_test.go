package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// A tenant that kept two checkpoints proves that the older one's tree is
// a prefix of the newer one's (--checkpoint and --new), against the two
// it holds, not a checkpoint the server signs now; a newer one of
// another history is a fork, two given in the wrong order a rollback.
func TestAuditConsistencyBetweenTwoKeptCheckpoints(t *testing.T) {
	signer, vkey := auditKeyPair(t, "carnot-test")
	live, backup, dir := t.TempDir(), t.TempDir(), t.TempDir()
	first, second, other := filepath.Join(dir, "first.note"), filepath.Join(dir, "second.note"), filepath.Join(dir, "other.note")
	a := openAuditServer(t, live, signer)
	tok, err := a.s.MintToken(context.Background(), api.TokenRequest{Name: "m", Role: "member", Tenant: "default"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	check := func(a *tenantServer, args ...string) (int, string, string) {
		return mainOut(append([]string{"audit", "consistency", "--server", a.url, "--token", tok.Secret, "--key", vkey}, args...)...)
	}
	a.grow(t, "a", 3)
	if code, out, errOut := check(a, "--save", first); code != 0 {
		t.Fatalf("first: exit %d: %s%s", code, out, errOut)
	}
	a.stop()
	copyDir(t, live, backup)
	a = openAuditServer(t, live, signer)
	a.grow(t, "b", 4)
	if code, out, errOut := check(a, "--save", second); code != 0 {
		t.Fatalf("second: exit %d: %s%s", code, out, errOut)
	}
	a.grow(t, "c", 2)
	restored := openAuditServer(t, backup, signer)
	restored.grow(t, "d", 6)
	if code, out, errOut := check(restored, "--save", other); code != 0 {
		t.Fatalf("other: exit %d: %s%s", code, out, errOut)
	}

	code, out, errOut := check(a, "--checkpoint", first, "--new", second)
	if code != 0 || !strings.HasPrefix(out, "ok: tree size 8, root ") || !strings.HasSuffix(out, "extends tree size 4 of "+first+"\n") {
		t.Fatalf("two checkpoints of one history: exit %d: %s%s", code, out, errOut)
	}
	for _, c := range []struct {
		name, old, new, want string
	}{
		{"a newer one of another history", second, other, "history forked"},
		{"in the wrong order", second, first, "checkpoint rolled back"},
	} {
		code, out, errOut := check(a, "--checkpoint", c.old, "--new", c.new)
		if code != ExitFailure || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: exit %d: %s%s; want %q", c.name, code, out, errOut, c.want)
		}
	}
	if code, _, errOut := check(a, "--new", second); code != ExitUsage || !strings.Contains(errOut, "--checkpoint") {
		t.Errorf("--new alone: exit %d: %s", code, errOut)
	}
}

// consistency's usage line and examples show --new, which its help
// describes, as they show --checkpoint and --save.
func TestAuditConsistencyUsageShowsNew(t *testing.T) {
	code, out, errOut := mainOut("audit", "consistency", "--help")
	if code != 0 {
		t.Fatalf("--help: exit %d: %s%s", code, out, errOut)
	}
	usage, examples, _ := strings.Cut(out[strings.Index(out, "Usage:"):], "Examples:")
	if !strings.Contains(usage, "[--new FILE]") || !strings.Contains(examples, "--new ") {
		t.Errorf("consistency --help: want --new in the usage line and an example:\n%s", out)
	}
}
