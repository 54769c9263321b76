package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --save keeps the checkpoint the next check is made against: it never
// replaces a kept checkpoint with one this run did not prove extends it
// (a shorter tree, another history at the same size, a tree merely
// larger, another log's), which would make a rollback or a fork look
// fine at the next check. The same checkpoint again, one proven against
// the file (--checkpoint FILE --save FILE), and a new file are written.
func TestSaveNeverReplacesAKeptCheckpointUnproven(t *testing.T) {
	dir := t.TempDir()
	code, vkey, errOut := mainOut("audit", "keygen", "--name", "carnot-test", "--out-dir", dir)
	if code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, errOut)
	}
	vkey = strings.TrimSpace(vkey)
	skey := filepath.Join(dir, "carnot-test.key")
	demo := func(name string, n string, origin string) string {
		path := filepath.Join(dir, name)
		if code, out, errOut := mainOut("audit", "demo", "--key", skey, "--entries", n, "--every", "1000", "--origin", origin, "-o", path); code != 0 {
			t.Fatalf("demo: exit %d: %s%s", code, out, errOut)
		}
		return path
	}
	long, short := demo("long.jsonl", "250", "carnot audit demo"), demo("short.jsonl", "100", "carnot audit demo")
	other := demo("other.jsonl", "300", "carnot audit elsewhere")
	saved := filepath.Join(dir, "last.note")
	verify := func(args ...string) (int, string, string) {
		return mainOut(append([]string{"audit", "verify", "--key", vkey}, args...)...)
	}
	for range 2 { // a new file, then the same checkpoint again
		if code, out, errOut := verify("--save", saved, long); code != 0 {
			t.Fatalf("verify --save: exit %d: %s%s", code, out, errOut)
		}
	}
	kept, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, export, want string
	}{
		{"a shorter tree", short, "checkpoint rolled back"},
		{"another log's", other, "checkpoint is for another log"},
	} {
		code, out, errOut := verify("--save", saved, c.export)
		if code != ExitFailure || !strings.Contains(errOut, "--save "+saved) || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: exit %d: %s%s; want %q", c.name, code, out, errOut, c.want)
		}
		if b, _ := os.ReadFile(saved); !bytes.Equal(b, kept) {
			t.Fatalf("%s: --save replaced the kept checkpoint", c.name)
		}
	}
	// A larger tree is saved once proven against the kept checkpoint.
	longer := demo("longer.jsonl", "400", "carnot audit demo")
	if code, _, errOut := verify("--save", saved, longer); code != ExitFailure || !strings.Contains(errOut, "--checkpoint "+saved) {
		t.Errorf("a larger tree, unproven: exit %d: %s; want a refusal naming --checkpoint", code, errOut)
	}
	if code, out, errOut := verify("--checkpoint", saved, "--save", saved, longer); code != 0 || !strings.Contains(out, "tree size 400") {
		t.Errorf("a larger tree, proven: exit %d: %s%s", code, out, errOut)
	}
}
