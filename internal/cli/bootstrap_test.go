package cli

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/server"
	"github.com/carnot-dc/carnot/internal/store"
	"github.com/carnot-dc/carnot/internal/store/postgres"
	"github.com/carnot-dc/carnot/internal/store/sqlite"
)

// bootstrapOnce starts a server on the store open gives with key and
// data directory dir, runs the start's bootstrap and returns what it
// printed and logged, the bootstrap token it wrote to
// dir/bootstrap.token ("" when none: the file is removed after reading),
// and whether each of toks authenticates then.
func bootstrapOnce(t *testing.T, open func() store.Store, dir string, key []byte, toks ...string) (string, string, []bool) {
	t.Helper()
	db := open()
	defer db.Close()
	s, err := server.New(context.Background(), server.Config{Facility: server.DevFacility("local", "FR"), Store: db, TokenKey: key})
	if err != nil {
		t.Fatal(err)
	}
	var out, logs bytes.Buffer
	cp := &controlPlane{srv: s, dataDir: dir, log: slog.New(slog.NewTextHandler(&logs, nil))}
	if err := cp.bootstrap(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, bootstrapTokenFile)
	tok := ""
	if b, err := os.ReadFile(path); err == nil {
		tok = strings.TrimSpace(string(b))
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (%v), want 0600", path, fi.Mode().Perm(), err)
		}
		os.Remove(path)
	}
	var ok []bool
	for _, tok := range toks {
		_, holds := s.Authenticates(context.Background(), tok)
		ok = append(ok, holds)
	}
	return out.String() + logs.String(), tok, ok
}

// The bootstrap token is written to DATA-DIR/bootstrap.token, mode 0600,
// and the output and the log say where; neither holds the token, which
// would otherwise stay in a journal or a container's log. A new one
// replaces the file a previous one left.
func TestBootstrapTokenIsWrittenToAFile(t *testing.T) {
	dir := t.TempDir()
	open := func() store.Store {
		db, err := sqlite.Open(filepath.Join(dir, "carnot.db"))
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	path := filepath.Join(dir, bootstrapTokenFile)
	out, tok, _ := bootstrapOnce(t, open, dir, bytes.Repeat([]byte{1}, 32))
	if tokenText.MatchString(out) {
		t.Errorf("the bootstrap token is in the output or the log:\n%s", out)
	}
	if strings.Count(out, path) < 2 {
		t.Errorf("the output and the log do not both say where the token is (%s):\n%s", path, out)
	}
	if !tokenText.MatchString(tok) {
		t.Fatalf("%s holds %q, not a token", bootstrapTokenFile, tok)
	}
	if _, _, ok := bootstrapOnce(t, open, dir, bytes.Repeat([]byte{1}, 32), tok); !ok[0] {
		t.Error("the token of the file does not authenticate")
	}
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, next, ok := bootstrapOnce(t, open, dir, bytes.Repeat([]byte{2}, 32), tok)
	if !tokenText.MatchString(next) || next == tok || ok[0] || tokenText.MatchString(out) {
		t.Errorf("another key: file holds %q (the first %q, which authenticates: %v); output:\n%s", next, tok, ok[0], out)
	}
}

var tokenText = regexp.MustCompile(`carnot_[0-9a-f]{16}_[A-Za-z0-9_-]{43}`)

// A start with another token key says that the key changed and prints a
// new bootstrap token, which authenticates; the first key's does not. On
// both stores (PostgreSQL when CARNOT_TEST_POSTGRES is set).
func TestBootstrapAfterTheTokenKeyChanged(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		testBootstrapAfterKeyChange(t, func() store.Store {
			db, err := sqlite.Open(filepath.Join(dir, "carnot.db"))
			if err != nil {
				t.Fatal(err)
			}
			return db
		})
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgSchema(t)
		testBootstrapAfterKeyChange(t, func() store.Store {
			db, err := postgres.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			return db
		})
	})
}

func testBootstrapAfterKeyChange(t *testing.T, open func() store.Store) {
	dir := t.TempDir()
	_, old, _ := bootstrapOnce(t, open, dir, bytes.Repeat([]byte{1}, 32))
	if old == "" {
		t.Fatal("the first start wrote no bootstrap token")
	}
	if again, tok, _ := bootstrapOnce(t, open, dir, bytes.Repeat([]byte{1}, 32)); again != "" || tok != "" {
		t.Errorf("a restart with the same key printed:\n%s", again)
	}
	out, tok, _ := bootstrapOnce(t, open, dir, bytes.Repeat([]byte{2}, 32))
	if !strings.Contains(out, "token key changed") {
		t.Errorf("a start with another key does not say the key changed:\n%s", out)
	}
	if tok == "" || tok == old {
		t.Fatalf("a start with another key wrote no new bootstrap token:\n%s", out)
	}
	again, _, ok := bootstrapOnce(t, open, dir, bytes.Repeat([]byte{2}, 32), tok, old)
	if again != "" {
		t.Errorf("a second start with the new key printed:\n%s", again)
	}
	if !ok[0] || ok[1] {
		t.Errorf("under the new key, the new bootstrap token authenticates: %v, the first key's: %v; want true, false", ok[0], ok[1])
	}
}

// A --token-key naming no file is a mistake (a typo, a file not copied
// to this replica yet): made there, a new key would shut out every
// token. Only the default DATA-DIR/token.key is made at the first start.
func TestTokenKeyFlagNamesAFileThatExists(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tokn.key")
	o := &serverOpts{dataDir: dir, tokenKey: path}
	_, err := o.security()
	if err == nil || !strings.Contains(err.Error(), "--token-key") || !strings.Contains(err.Error(), path) {
		t.Errorf("--token-key naming no file: %v, want an error naming the flag and the file", err)
	}
	if _, serr := os.Stat(path); serr == nil {
		t.Errorf("--token-key %s: the file was made", path)
	}
	o.tokenKey = ""
	if _, err := o.security(); err != nil {
		t.Fatalf("the default token key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, tokenKeyFile)); err != nil {
		t.Errorf("the default token key was not made: %v", err)
	}
}

// A replica that is not the leader yet says at its start when its token
// key is not the one the store's tokens were made under (a token.key not
// copied from the other servers): else that is found out only when it
// takes over, and every token stops.
func TestReplicaWarnsOfAnotherTokenKey(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "carnot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	a, b := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	if msg, err := tokenKeyMismatch(ctx, db, b); err != nil || msg != "" {
		t.Errorf("a store with no key recorded: %q, %v; want nothing", msg, err)
	}
	if _, err := server.New(ctx, server.Config{Facility: server.DevFacility("local", "FR"), Store: db, TokenKey: a}); err != nil {
		t.Fatal(err)
	}
	if msg, err := tokenKeyMismatch(ctx, db, a); err != nil || msg != "" {
		t.Errorf("the same key: %q, %v; want nothing", msg, err)
	}
	msg, err := tokenKeyMismatch(ctx, db, b)
	if err != nil || !strings.Contains(msg, "token.key") {
		t.Errorf("another key: %q, %v; want a warning that names token.key", msg, err)
	}
	// A rotation: the store's key is this replica's previous key.
	if msg, err := tokenKeyMismatch(ctx, db, b, a); err != nil || msg != "" {
		t.Errorf("another key, with the store's as a previous key: %q, %v; want nothing", msg, err)
	}
}
