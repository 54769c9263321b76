package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The token key keys every token's hash and derives the agents' logs
// tokens: a file group or others can read is refused at the start, as
// ssh refuses such a private key, naming the file, its mode and the fix.
// A key made at the first start is 0600.
func TestTokenKeyFileModeIsChecked(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, tokenKeyFile)
	if _, _, err := loadOrCreateTokenKey(path, true); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the token key made at the first start: %v %v; want mode 0600", fi.Mode().Perm(), err)
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, _, err := loadOrCreateTokenKey(path, false)
		if err == nil {
			t.Errorf("a token key of mode %04o was accepted", mode)
			continue
		}
		for _, want := range []string{path, fmt.Sprintf("mode %04o", mode), "chmod 600 " + path} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("mode %04o: %q does not say %q", mode, err, want)
			}
		}
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadOrCreateTokenKey(path, false); err != nil {
		t.Errorf("a token key of mode 0400: %v", err)
	}
	o := &serverOpts{dataDir: dir}
	os.Chmod(path, 0o644)
	if _, err := o.security(); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a server start with a token key of mode 0644: %v; want a refusal", err)
	}
}
