package secrets

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseKeyFile(t *testing.T) {
	content := "# Carnot keys\n" +
		"\n" +
		"   # indented comment\n" +
		"old-1\t" + base64.StdEncoding.EncodeToString(testKey("a")) + "\r\n" +
		"  kek.2_b   " + base64.StdEncoding.EncodeToString(testKey("b")) + "  \n" +
		keyLine("kek-3", "c")[:len(keyLine("kek-3", "c"))-1] // no final newline
	kf, err := ParseKeyFile("k", []byte(content))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"old-1", "kek.2_b", "kek-3"}, kf.KeyIDs()); diff != "" {
		t.Errorf("KeyIDs (-want +got):\n%s", diff)
	}
	if kf.KeyID() != "kek-3" {
		t.Errorf("KeyID = %q, want the last key kek-3", kf.KeyID())
	}
}

func TestParseKeyFileErrors(t *testing.T) {
	good := base64.StdEncoding.EncodeToString(testKey("good"))
	b64 := func(n int) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, n)) }
	tests := []struct {
		name, content string
		line          int
		reason        string
	}{
		{"empty", "", 0, "no keys"},
		{"only comments", "# a\n\n# b\n", 0, "no keys"},
		{"key only", "# keys\n" + good + "\n", 2, "found 1 fields"},
		{"three fields", "k1 " + good + " extra\n", 1, "found 3 fields"},
		{"id with slash", "a/b " + good + "\n", 1, "key id is not"},
		{"id too long", strings.Repeat("k", 65) + " " + good + "\n", 1, "key id is not"},
		{"duplicate id", "k1 " + good + "\n#\nk1 " + b64(32) + "\n", 3, `"k1" is already used on line 1`},
		{"not base64", "k1 " + good + "\nk2 not*base64!\n", 2, "not standard base64"},
		{"unpadded", "k1 " + strings.TrimRight(good, "=") + "\n", 1, "not standard base64"},
		{"16-byte key", "k1 " + b64(16) + "\n", 1, "16 bytes, want 32"},
		{"48-byte key", "k1 " + good + "\nk2 " + b64(48) + "\n", 2, "48 bytes, want 32"},
		{"zero key", "k1 " + base64.StdEncoding.EncodeToString(make([]byte, 32)) + "\n", 1, "all zero"},
		{"same key twice", "k1 " + good + "\nk2 " + good + "\n", 2, `same key as "k1" on line 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseKeyFile("/etc/carnot/secrets.keys", []byte(tt.content))
			var kfe *KeyFileError
			if !errors.As(err, &kfe) || !errors.Is(err, ErrKeyFile) {
				t.Fatalf("err = %v, want a *KeyFileError wrapping ErrKeyFile", err)
			}
			if kfe.Line != tt.line {
				t.Errorf("line = %d, want %d", kfe.Line, tt.line)
			}
			prefix := "secrets: key file /etc/carnot/secrets.keys: "
			if tt.line > 0 {
				prefix = fmt.Sprintf("secrets: key file /etc/carnot/secrets.keys:%d: ", tt.line)
			}
			if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("err = %q, want prefix %q and %q", err, prefix, tt.reason)
			}
			if strings.Contains(err.Error(), good) || strings.Contains(err.Error(), strings.TrimRight(good, "=")) {
				t.Errorf("error quotes key material: %q", err)
			}
		})
	}
}

func writeFile(t *testing.T, name, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // not subject to umask
		t.Fatal(err)
	}
	return path
}

func TestLoadKeyFileMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix file modes")
	}
	for _, tt := range []struct {
		mode os.FileMode
		ok   bool
	}{
		{0o600, true}, {0o400, true}, {0o700, true},
		{0o640, false}, {0o604, false}, {0o644, false}, {0o620, false}, {0o602, false}, {0o610, false}, {0o666, false},
	} {
		t.Run(fmt.Sprintf("%04o", tt.mode), func(t *testing.T) {
			path := writeFile(t, "secrets.keys", keyLine("k1", "k1"), tt.mode)
			kf, err := LoadKeyFile(path)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				if kf.KeyID() != "k1" {
					t.Fatalf("KeyID = %q", kf.KeyID())
				}
				return
			}
			if !errors.Is(err, ErrKeyFileMode) {
				t.Fatalf("err = %v, want ErrKeyFileMode", err)
			}
			for _, want := range []string{path, fmt.Sprintf("%04o", tt.mode), "chmod 600"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err %q does not mention %q", err, want)
				}
			}
		})
	}
}

func TestLoadKeyFileOther(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadKeyFile(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want fs.ErrNotExist", err)
	}
	if _, err := LoadKeyFile(dir); !errors.Is(err, ErrKeyFileMode) || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: err = %v, want ErrKeyFileMode", err)
	}
	big := writeFile(t, "big.keys", keyLine("k1", "k1")+strings.Repeat("#\n", maxKeyFileSize/2), 0o600)
	if _, err := LoadKeyFile(big); !errors.Is(err, ErrKeyFile) || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized file: err = %v, want ErrKeyFile", err)
	}
	bad := writeFile(t, "bad.keys", "# keys\nk1 short\n", 0o600)
	if _, err := LoadKeyFile(bad); !errors.Is(err, ErrKeyFile) || !strings.Contains(err.Error(), bad+":2:") {
		t.Errorf("malformed file: err = %v, want ErrKeyFile at %s:2", err, bad)
	}
}

func TestGenerateAndRotateKeyFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "secrets.keys")
	id1, err := GenerateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600) {
		t.Fatalf("generated file: %v, %v; want mode 0600", fi.Mode(), err)
	}
	before, _ := os.ReadFile(path)
	if _, err := GenerateKeyFile(path); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second GenerateKeyFile: err = %v, want fs.ErrExist", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("second GenerateKeyFile changed the file")
	}

	kf1, err := LoadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{id1}, kf1.KeyIDs()); diff != "" {
		t.Fatalf("KeyIDs (-want +got):\n%s", diff)
	}
	a := aad("acme", "x")
	oldBlob, err := Seal(ctx, kf1, []byte("old"), a)
	if err != nil {
		t.Fatal(err)
	}

	id2, err := RotateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if id2 == id1 {
		t.Fatalf("rotation reused id %s", id1)
	}
	kf2, err := LoadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{id1, id2}, kf2.KeyIDs()); diff != "" {
		t.Fatalf("KeyIDs after rotation (-want +got):\n%s", diff)
	}
	if got, err := Open(ctx, kf2, oldBlob, a); err != nil || string(got) != "old" {
		t.Fatalf("old blob after rotation: %q, %v", got, err)
	}
	newBlob, err := Seal(ctx, kf2, []byte("new"), a)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := BlobKeyID(newBlob); id != id2 {
		t.Fatalf("new blob sealed with %s, want %s", id, id2)
	}
	if fi, _ := os.Stat(path); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode after rotation %04o", fi.Mode().Perm())
	}
}

func TestRotateKeyFileChecksFirst(t *testing.T) {
	bad := "k1 " + base64.StdEncoding.EncodeToString(testKey("k1")) + "\nk2 short\n"
	path := writeFile(t, "bad.keys", bad, 0o600)
	if _, err := RotateKeyFile(path); !errors.Is(err, ErrKeyFile) {
		t.Fatalf("rotating a malformed file: err = %v, want ErrKeyFile", err)
	}
	if got, _ := os.ReadFile(path); string(got) != bad {
		t.Fatal("RotateKeyFile changed a malformed file")
	}
	if runtime.GOOS != "windows" {
		open := writeFile(t, "open.keys", keyLine("k1", "k1"), 0o644)
		if _, err := RotateKeyFile(open); !errors.Is(err, ErrKeyFileMode) {
			t.Fatalf("rotating a 0644 file: err = %v, want ErrKeyFileMode", err)
		}
	}

	// A hand-written file without a final newline.
	path = writeFile(t, "k.keys", strings.TrimSuffix(keyLine("k1", "k1"), "\n"), 0o600)
	id, err := RotateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	kf, err := LoadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"k1", id}, kf.KeyIDs()); diff != "" {
		t.Fatalf("KeyIDs (-want +got):\n%s", diff)
	}
}

// TestKeyFileNeverPrinted: formatting or logging a KeyFile shows no key.
func TestKeyFileNeverPrinted(t *testing.T) {
	kf := keyFile(t, "k1", "k2")
	var out bytes.Buffer
	slog.New(slog.NewTextHandler(&out, nil)).Info("loaded", "keys", kf)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("loaded", "keys", kf)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
		fmt.Fprintf(&out, verb+"\n", kf)
		fmt.Fprintf(&out, verb+"\n", *kf)
	}
	for _, id := range []string{"k1", "k2"} {
		key := testKey(id)
		for _, enc := range []string{string(key), base64.StdEncoding.EncodeToString(key), fmt.Sprintf("%x", key), fmt.Sprint(key[:4]), fmt.Sprintf("%d", key[0]) + " " + fmt.Sprintf("%d", key[1])} {
			if strings.Contains(out.String(), enc) {
				t.Fatalf("printed KeyFile shows key %s:\n%s", id, out.String())
			}
		}
	}
	if !strings.Contains(out.String(), "newest k2") {
		t.Errorf("printed KeyFile lacks its description:\n%s", out.String())
	}
}
