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

// A key file the server refuses is named by the flag only when the flag
// gave it: without --token-key or --secrets-key, the error names the
// file of the data directory it read.
func TestKeyFileErrorsNameTheFlagOnlyWhenGiven(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	dir := t.TempDir()
	if _, err := (&serverOpts{dataDir: dir}).security(); err != nil {
		t.Fatal(err)
	}
	tokenKey, secretsKey := filepath.Join(dir, tokenKeyFile), filepath.Join(dir, secretsKeyFile)
	for _, tc := range []struct {
		file string
		o    serverOpts
		want string // the error's start
	}{
		{tokenKey, serverOpts{dataDir: dir}, "token key " + tokenKey + ": mode 0644 lets group or others read the key; run: chmod 600 " + tokenKey},
		{tokenKey, serverOpts{dataDir: dir, tokenKey: tokenKey}, "--token-key: token key " + tokenKey + ": mode 0644"},
		{secretsKey, serverOpts{dataDir: dir}, "secrets"},
		{secretsKey, serverOpts{dataDir: dir, secretsKey: secretsKey}, "--secrets-key: "},
	} {
		if err := os.Chmod(tc.file, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := tc.o.security()
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.file) {
			t.Errorf("a start with %s of mode 0644 (--token-key %q, --secrets-key %q): %v; want an error starting %q, naming the file",
				filepath.Base(tc.file), tc.o.tokenKey, tc.o.secretsKey, err, tc.want)
		}
		if err := os.Chmod(tc.file, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
