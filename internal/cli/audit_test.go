package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mainOut(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = Main(args, &o, &e)
	return code, o.String(), e.String()
}

func TestAuditKeygenDemoVerify(t *testing.T) {
	dir := t.TempDir()
	code, vkey, errOut := mainOut("audit", "keygen", "--name", "carnot-test", "--out-dir", dir)
	if code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, errOut)
	}
	vkey = strings.TrimSpace(vkey)
	if !strings.HasPrefix(vkey, "carnot-test+") {
		t.Fatalf("keygen printed %q, want a verifier key", vkey)
	}
	skey := filepath.Join(dir, "carnot-test.key")
	if fi, err := os.Stat(skey); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("signer key file: %v, %v", fi, err)
	}
	if code, _, _ := mainOut("audit", "keygen", "--name", "carnot-test", "--out-dir", dir); code != ExitFailure {
		t.Errorf("keygen over an existing key: exit %d, want %d", code, ExitFailure)
	}

	export := filepath.Join(dir, "audit.jsonl")
	if code, out, errOut := mainOut("audit", "demo", "--key", skey, "--entries", "250", "-o", export); code != 0 || out != "wrote "+export+": 250 entries, 3 checkpoints\n" {
		t.Fatalf("demo: exit %d: %s%s", code, out, errOut)
	}
	saved := filepath.Join(dir, "last.note")
	for _, key := range []string{vkey, filepath.Join(dir, "carnot-test.pub")} {
		code, out, errOut := mainOut("audit", "verify", "--key", key, "--save", saved, export)
		if code != 0 || !strings.HasPrefix(out, "ok: 250 entries, tree size 250, root ") {
			t.Fatalf("verify --key %s: exit %d: %s%s", key, code, out, errOut)
		}
	}
	if code, out, errOut := mainOut("audit", "verify", "--key", vkey, "--checkpoint", saved, export); code != 0 {
		t.Fatalf("verify --checkpoint: exit %d: %s%s", code, out, errOut)
	}

	data, err := os.ReadFile(export)
	if err != nil {
		t.Fatal(err)
	}
	tampered := filepath.Join(dir, "tampered.jsonl")
	if err := os.WriteFile(tampered, bytes.Replace(data, []byte(`"tenant":"acme"`), []byte(`"tenant":"evil"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := mainOut("audit", "verify", "--key", vkey, tampered)
	if code != ExitFailure || out != "" || !strings.Contains(errOut, "entry modified: root mismatch at checkpoint 1") {
		t.Errorf("verify tampered: exit %d: %s%s", code, out, errOut)
	}
	// A shorter export than the kept checkpoint.
	lines := bytes.SplitAfter(data, []byte("\n"))
	if err := os.WriteFile(tampered, bytes.Join(lines[:102], nil), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = mainOut("audit", "verify", "--key", vkey, "--checkpoint", saved, tampered)
	if code != ExitFailure || !strings.Contains(errOut, "log truncated") {
		t.Errorf("verify truncated: exit %d: %s", code, errOut)
	}
}

func TestAuditUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"audit", "keygen"},
		{"audit", "keygen", "--name", "bad name", "--out-dir", dir},
		{"audit", "keygen", "--name", "../up", "--out-dir", dir},
		{"audit", "verify", "x.jsonl"},
		{"audit", "verify", "--key", filepath.Join(dir, "missing.pub"), "x.jsonl"},
		{"audit", "verify", "--key", "k"},
		{"audit", "demo", "--key", "k"},
		{"audit", "demo", "--key", "k", "-o", "x", "--entries", "0"},
		{"audit", "consistency", "--checkpoint", "last.note"},
		{"audit", "consistency", "--key", filepath.Join(dir, "missing.pub")},
	} {
		if code, _, errOut := mainOut(args...); code != ExitUsage {
			t.Errorf("%q: exit %d, want %d: %s", args, code, ExitUsage, errOut)
		}
	}
}
