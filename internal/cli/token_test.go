package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/server"
)

// A --ttl below a second would be sent as ttl_seconds 0, which means no
// expiry: a token asked to last half a second would last for ever.
func TestTokenCreateRefusesASubSecondTTL(t *testing.T) {
	t.Setenv("CARNOT_TOKEN", testJoin)
	// A fraction above a second was cut to whole seconds without a word
	// (1.5s lasted 1s), where --runtime-limit refuses it.
	for _, ttl := range []string{"500ms", "1ns", "999ms", "1.5s", "1h0m0.5s"} {
		out, err := runCLI(t, "token", "create", "x", "--role", "member", "--tenant", "a", "--ttl", ttl,
			"--server", "https://127.0.0.1:1")
		if err == nil || !strings.Contains(err.Error(), "--ttl") {
			t.Errorf("--ttl %s: %v (%s), want an error naming --ttl", ttl, err, out)
		}
	}
}

// A tenant-admin asking for a token that would outlive its own is told
// that the server clamped the expiry to its own.
func TestTokenCreateSaysTheExpiryWasClamped(t *testing.T) {
	ts := openTenantServer(t, t.TempDir(), "", server.Config{DynamicNodes: true})
	ta, err := ts.s.MintToken(context.Background(), api.TokenRequest{Name: "ta", Role: "tenant-admin", Tenant: "default", TTLSeconds: 3600}, "test")
	if err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "token", "create", "m", "--role", "member", "--ttl", "48h", "--server", ts.url, "--token", ta.Secret)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "expires "+ta.Expires.Format(time.RFC3339)) || !strings.Contains(out, "your token's expiry") {
		t.Errorf("a clamped token's creation does not say so:\n%s", out)
	}
	out, err = runCLI(t, "token", "create", "m2", "--role", "member", "--ttl", "10m", "--server", ts.url, "--token", ta.Secret)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Contains(out, "your token's expiry") {
		t.Errorf("a token asking for less than its creator's life is said to be clamped:\n%s", out)
	}
}
