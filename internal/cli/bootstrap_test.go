package cli

import (
	"bytes"
	"context"
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

// bootstrapOnce starts a server on the store open gives with key, runs
// the start's bootstrap and returns what it printed, and whether each of
// toks authenticates then.
func bootstrapOnce(t *testing.T, open func() store.Store, key []byte, toks ...string) (string, []bool) {
	t.Helper()
	db := open()
	defer db.Close()
	s, err := server.New(context.Background(), server.Config{Facility: server.DevFacility("local", "FR"), Store: db, TokenKey: key})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cp := &controlPlane{srv: s}
	if err := cp.bootstrap(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	var ok []bool
	for _, tok := range toks {
		_, holds := s.Authenticates(context.Background(), tok)
		ok = append(ok, holds)
	}
	return out.String(), ok
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
	first, _ := bootstrapOnce(t, open, bytes.Repeat([]byte{1}, 32))
	old := tokenText.FindString(first)
	if old == "" {
		t.Fatalf("the first start printed no bootstrap token:\n%s", first)
	}
	if again, _ := bootstrapOnce(t, open, bytes.Repeat([]byte{1}, 32)); again != "" {
		t.Errorf("a restart with the same key printed:\n%s", again)
	}
	out, _ := bootstrapOnce(t, open, bytes.Repeat([]byte{2}, 32))
	if !strings.Contains(out, "token key changed") {
		t.Errorf("a start with another key does not say the key changed:\n%s", out)
	}
	tok := tokenText.FindString(out)
	if tok == "" || tok == old {
		t.Fatalf("a start with another key printed no new bootstrap token:\n%s", out)
	}
	again, ok := bootstrapOnce(t, open, bytes.Repeat([]byte{2}, 32), tok, old)
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
}
