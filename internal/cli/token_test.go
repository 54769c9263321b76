package cli

import (
	"strings"
	"testing"
)

// A --ttl below a second would be sent as ttl_seconds 0, which means no
// expiry: a token asked to last half a second would last for ever.
func TestTokenCreateRefusesASubSecondTTL(t *testing.T) {
	t.Setenv("CARNOT_TOKEN", testJoin)
	for _, ttl := range []string{"500ms", "1ns", "999ms"} {
		out, err := runCLI(t, "token", "create", "x", "--role", "member", "--tenant", "a", "--ttl", ttl,
			"--server", "https://127.0.0.1:1")
		if err == nil || !strings.Contains(err.Error(), "--ttl") {
			t.Errorf("--ttl %s: %v (%s), want an error naming --ttl", ttl, err, out)
		}
	}
}
