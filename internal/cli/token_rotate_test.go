package cli

import (
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/auth"
	"github.com/carnot-dc/carnot/internal/server"
	"github.com/carnot-dc/carnot/internal/store/sqlite"
)

// A deliberate token key rotation through the key file: carnot token
// rotate-key appends a new key (the file stays 0600), the servers started
// with it make new tokens under it while the previous key's tokens still
// authenticate, and no bootstrap token is due; carnot token retire-keys
// then keeps the newest key only, saying that the job tokens of tasks
// started before the rotation stop too, and the previous key's tokens
// stop.
func TestTokenKeyRotationThroughTheKeyFile(t *testing.T) {
	dir := t.TempDir()
	o := &serverOpts{dataDir: dir}
	var db *sqlite.DB
	start := func() (*server.Server, string) {
		t.Helper()
		sec, err := o.security()
		if err != nil {
			t.Fatal(err)
		}
		if db != nil {
			db.Close() // the previous start's
		} else {
			t.Cleanup(func() { db.Close() })
		}
		if db, err = sqlite.Open(filepath.Join(dir, "carnot.db")); err != nil {
			t.Fatal(err)
		}
		s, err := server.New(context.Background(), server.Config{Facility: server.DevFacility("local", "FR"), Store: db,
			TokenKey: sec.tokenKey, PreviousTokenKeys: sec.previousTokenKeys})
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		cp := &controlPlane{srv: s, dataDir: dir, log: discardLog()}
		if err := cp.bootstrap(context.Background(), &out); err != nil {
			t.Fatal(err)
		}
		return s, out.String()
	}
	s, _ := start()
	admin, err := s.MintToken(context.Background(), api.TokenRequest{Name: "admin", Role: string(auth.OperatorAdmin)}, "test")
	if err != nil {
		t.Fatal(err)
	}
	first := s.TokenKeyID()
	os.Remove(filepath.Join(dir, bootstrapTokenFile))

	code, out, errs := carnot("token", "rotate-key", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "was "+first) {
		t.Fatalf("carnot token rotate-key: exit %d, %q, %q; want the previous key's ID %s named", code, out, errs, first)
	}
	path := filepath.Join(dir, tokenKeyFile)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the key file after rotate-key: %v, %v; want mode 0600", fi.Mode().Perm(), err)
	}
	s, printed := start()
	if s.TokenKeyID() == first {
		t.Fatal("after rotate-key, new tokens are still made under the first key")
	}
	if _, ok := s.Authenticates(context.Background(), admin.Secret); !ok {
		t.Error("after rotate-key, the previous key's token does not authenticate")
	}
	if printed != "" || fileExists(filepath.Join(dir, bootstrapTokenFile)) {
		t.Errorf("a start after rotate-key printed %q or wrote a bootstrap token", printed)
	}
	fresh, err := s.MintToken(context.Background(), api.TokenRequest{Name: "admin2", Role: string(auth.OperatorAdmin)}, "test")
	if err != nil {
		t.Fatal(err)
	}

	if code, out, errs := carnot("token", "retire-keys", "--data-dir", dir); code != 0 || !strings.Contains(out, first) || !strings.Contains(out, "checkpoint reports are refused") {
		t.Fatalf("carnot token retire-keys: exit %d, %q, %q; want the retired key's ID %s named, and the tasks' checkpoint reports said refused", code, out, errs, first)
	}
	s, _ = start()
	if _, ok := s.Authenticates(context.Background(), admin.Secret); ok {
		t.Error("after retire-keys, the retired key's token still authenticates")
	}
	if _, ok := s.Authenticates(context.Background(), fresh.Secret); !ok {
		t.Error("after retire-keys, the newest key's token does not authenticate")
	}
	if code, _, errs := carnot("token", "retire-keys", "--data-dir", dir); code == 0 || !strings.Contains(errs, "one key") {
		t.Errorf("retire-keys with one key left: exit %d, %q; want a refusal", code, errs)
	}
}

// A key file of several keys is read as such: the last one is the key,
// the others previous keys; a line that is not a key is refused, naming
// the file and the line.
func TestTokenKeyFileOfSeveralKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.key")
	a, b := strings.Repeat("ab", 32), strings.Repeat("cd", 32)
	if err := os.WriteFile(path, []byte("# rotated\n"+a+"\n\n"+b+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key, prev, err := loadOrCreateTokenKey(path, false)
	if err != nil || len(prev) != 1 || string(key) != string(mustHex(t, b)) || string(prev[0]) != string(mustHex(t, a)) {
		t.Errorf("key %x, previous %x, %v; want %s and [%s]", key, prev, err, b, a)
	}
	if err := os.WriteFile(path, []byte(a+"\nnot a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadOrCreateTokenKey(path, false); err == nil || !strings.Contains(err.Error(), path+":2") {
		t.Errorf("a key file with a bad line 2: %v; want an error naming %s:2", err, path)
	}
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
