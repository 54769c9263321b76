package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/server"
)

// openAuditServer is a tenantServer on the database in dir whose audit
// log signer signs.
func openAuditServer(t *testing.T, dir string, signer note.Signer) *tenantServer {
	t.Helper()
	return openTenantServer(t, dir, "", server.Config{AuditSigner: signer})
}

// grow appends n entries to the server's log: tokens minted.
func (a *tenantServer) grow(t *testing.T, prefix string, n int) {
	t.Helper()
	for i := range n {
		req := api.TokenRequest{Name: fmt.Sprintf("%s%d", prefix, i), Role: "viewer", Tenant: "default"}
		if _, err := a.s.MintToken(context.Background(), req, "test"); err != nil {
			t.Fatal(err)
		}
	}
}

func auditKeyPair(t *testing.T, name string) (note.Signer, string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s, vkey
}

// copyDir copies the files of a closed store, as a backup does.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(from, "carnot.db*"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no database in %s: %v", from, err)
	}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, filepath.Base(n)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// A tenant keeps a checkpoint and later proves, with its own token, that
// the server's log only grew since, across a restart; a log restored
// from an older backup is a rollback, the backup grown with other
// entries a fork, another key is refused, and a failed check saves
// nothing.
func TestAuditConsistencyCommand(t *testing.T) {
	signer, vkey := auditKeyPair(t, "carnot-test")
	live, backup, dir := t.TempDir(), t.TempDir(), t.TempDir()
	first, last := filepath.Join(dir, "first.note"), filepath.Join(dir, "last.note")
	a := openAuditServer(t, live, signer)
	tok, err := a.s.MintToken(context.Background(), api.TokenRequest{Name: "m", Role: "member", Tenant: "default"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	check := func(a *tenantServer, key string, args ...string) (int, string, string) {
		return mainOut(append([]string{"audit", "consistency", "--server", a.url, "--token", tok.Secret, "--key", key}, args...)...)
	}
	a.grow(t, "a", 3)
	code, out, errOut := check(a, vkey, "--save", first)
	if code != 0 || !strings.HasPrefix(out, "ok: tree size 4, root ") || !strings.HasSuffix(out, "(carnot audit dev), signed by carnot-test\n") {
		t.Fatalf("the first check: exit %d: %s%s", code, out, errOut)
	}

	a.stop()
	copyDir(t, live, backup)
	a = openAuditServer(t, live, signer)
	a.grow(t, "b", 5)
	code, out, errOut = check(a, vkey, "--checkpoint", first, "--save", last)
	if code != 0 || !strings.HasPrefix(out, "ok: tree size 9, root ") || !strings.HasSuffix(out, "extends tree size 4 of "+first+"\n") {
		t.Fatalf("after a restart and 5 entries: exit %d: %s%s", code, out, errOut)
	}
	if code, out, errOut = check(a, vkey, "--checkpoint", last); code != 0 || !strings.Contains(out, "tree size 9, root") {
		t.Errorf("the log unchanged: exit %d: %s%s", code, out, errOut)
	}
	kept, err := os.ReadFile(last)
	if err != nil {
		t.Fatal(err)
	}

	restored := openAuditServer(t, backup, signer)
	for _, c := range []struct {
		name   string
		a      *tenantServer
		key    string
		grow   int
		errOut string
	}{
		{"restored from a backup", restored, vkey, 0, "checkpoint rolled back: tree size 4 after 9"},
		{"the backup grown with other entries", restored, vkey, 8, "history forked: tree size 9 (root "},
		{"another verifier key", a, "", 0, "--checkpoint " + last + ": checkpoint signature does not verify"},
		{"another signer key", nil, vkey, 0, "the server's checkpoint: checkpoint signature does not verify"},
	} {
		switch {
		case c.key == "":
			_, c.key = auditKeyPair(t, "carnot-test")
		case c.a == nil:
			a.stop()
			other, _ := auditKeyPair(t, "carnot-test")
			c.a = openAuditServer(t, live, other)
		}
		c.a.grow(t, "c", c.grow)
		code, out, errOut := check(c.a, c.key, "--checkpoint", last, "--save", last)
		if code != ExitFailure || out != "" || !strings.Contains(errOut, c.errOut) {
			t.Errorf("%s: exit %d: %s%s; want %q", c.name, code, out, errOut, c.errOut)
		}
		if b, _ := os.ReadFile(last); !bytes.Equal(b, kept) {
			t.Errorf("%s: the failed check overwrote %s", c.name, last)
		}
	}
}
