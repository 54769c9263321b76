package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestOutEmpty: --out "" failed with "mkdir : no such file or
// directory"; it is a usage error naming the flag.
func TestOutEmpty(t *testing.T) {
	set := filepath.Join("..", "..", "examples", "plan", "policies.yaml")
	for _, args := range [][]string{
		{"sim", "--out", ""},
		{"sim", "--out", " "},
		{"plan", set, "--out", ""},
	} {
		var outb, errb bytes.Buffer
		want := `--out "`
		if code := Main(args, &outb, &errb); code != ExitUsage || !strings.Contains(errb.String(), want) || !strings.Contains(errb.String(), "want a directory") {
			t.Errorf("carnot %q: exit %d, stderr %q; want exit %d and %q… want a directory", args, code, errb.String(), ExitUsage, want)
		}
	}
}
