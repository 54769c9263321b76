package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/secrets"
	"github.com/carnot-dc/carnot/internal/store"
)

// A secrets key file changed so that a tenant's secret no longer opens
// (its key removed) takes the secret from that tenant as surely as a
// deletion: the start records it as a secret event of the tenant, once,
// never with the value, and the start that opens it again records that.
func TestSecretLostToAKeyChangeIsAudited(t *testing.T) {
	const value = "s3cr3t-value-3c91"
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			open := kind.make(t).open
			clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
			start := func(keys *secrets.KeyFile) *env {
				s, err := New(context.Background(), Config{Facility: twoSitesAB(), DynamicNodes: true, Store: open(), Now: clk.now,
					TokenKey: testTokenKey, Secrets: keys})
				if err != nil {
					t.Fatal(err)
				}
				return envOf(t, s, t.TempDir(), clk)
			}
			e := start(keyFileOf(t, "k1:one"))
			if code := e.do("PUT", "/v1/secrets/db-password", api.SecretValue{Tenant: "a", Value: value}, nil); code != 200 {
				t.Fatalf("PUT a secret: %d", code)
			}
			for _, c := range []struct {
				name string
				keys *secrets.KeyFile
				want []string // the messages of the secrets key's events so far
			}{
				{"another key added", keyFileOf(t, "k1:one", "k2:two"), nil},
				{"its key removed", keyFileOf(t, "k2:two"), []string{"secret db-password does not open"}},
				{"still removed", keyFileOf(t, "k2:two"), []string{"secret db-password does not open"}},
				{"its key back", keyFileOf(t, "k1:one", "k2:two"), []string{"secret db-password does not open", "secret db-password opens"}},
			} {
				e.s.store.Close()
				e = start(c.keys)
				evs, err := e.s.store.Events(context.Background(), store.EventFilter{Limit: 10000})
				if err != nil {
					t.Fatal(err)
				}
				var got []api.Event
				for _, ev := range evs {
					if ev.Actor == "server:secrets-key" {
						got = append(got, ev)
					}
				}
				ok := len(got) == len(c.want)
				for i := range got {
					ok = ok && got[i].Tenant == "a" && got[i].Type == EventSecret && strings.HasPrefix(got[i].Message, c.want[i]) &&
						!strings.Contains(got[i].Message, value) && !strings.Contains(got[i].Message, "test.keys")
				}
				if !ok {
					t.Errorf("%s: events %+v, want %q", c.name, got, c.want)
				}
			}
		})
	}
}
