package server

import (
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/secrets"
)

// keyFileOf is a secrets key file in memory with a line per "ID:SEED",
// whose key is derived from SEED.
func keyFileOf(t *testing.T, keys ...string) *secrets.KeyFile {
	t.Helper()
	var text strings.Builder
	for _, idSeed := range keys {
		id, seed, _ := strings.Cut(idSeed, ":")
		k := sha256.Sum256([]byte("carnot test secrets key " + seed))
		text.WriteString(id + " " + base64.StdEncoding.EncodeToString(k[:]) + "\n")
	}
	kf, err := secrets.ParseKeyFile("test.keys", []byte(text.String()))
	if err != nil {
		t.Fatal(err)
	}
	return kf
}

// A server started with a secrets key file that no longer opens a stored
// secret (its key removed, or another key under its id) says so at its
// start, naming the secret, its tenant and the key that sealed it, never
// the value; a key file that opens every secret gets no such error.
func TestStartWithoutTheKeyOfASecretSaysSo(t *testing.T) {
	const value = "s3cr3t-value-3c91"
	dir := t.TempDir()
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	e := openEnv(t, dir, twoSitesAB(), true, clk, func(cfg *Config) { cfg.Secrets = keyFileOf(t, "k1:one") })
	if code := e.do("PUT", "/v1/secrets/db-password", api.SecretValue{Tenant: "a", Value: value}, nil); code != 200 {
		t.Fatalf("PUT a secret: %d", code)
	}
	for _, c := range []struct {
		name string
		keys *secrets.KeyFile
		bad  bool
	}{
		{"the same key and a new one", keyFileOf(t, "k1:one", "k2:two"), false},
		{"its key removed", keyFileOf(t, "k2:two"), true},
		{"another key under its id", keyFileOf(t, "k1:other"), true},
	} {
		e.s.store.Close()
		var logs lockedBuffer
		e = openEnv(t, dir, twoSitesAB(), true, clk, func(cfg *Config) {
			cfg.Secrets = c.keys
			cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		})
		out := logs.String()
		got := strings.Contains(out, "level=ERROR") && strings.Contains(out, "db-password") &&
			strings.Contains(out, "tenant=a") && strings.Contains(out, `key \"k1\"`)
		if got != c.bad {
			t.Errorf("%s: logs %q; want an error naming secret db-password of tenant a and key k1: %v", c.name, out, c.bad)
		}
		if strings.Contains(out, value) {
			t.Errorf("%s: the logs hold the secret's value: %q", c.name, out)
		}
	}
}
