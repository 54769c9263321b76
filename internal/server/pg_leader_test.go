package server

import (
	"context"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/store/postgres"
)

// pgLeaders returns a maker of servers on one PostgreSQL schema of their
// own (pgSchemaURL: skipped without CARNOT_TEST_POSTGRES), on clk, each
// the next leader once the one before retired; mods adjust their Config.
func pgLeaders(t *testing.T, clk *clock, mods ...func(*Config)) func() *env {
	t.Helper()
	dbURL := pgSchemaURL(t)
	return func() *env {
		ctx := context.Background()
		db, err := postgres.Open(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		cfg := Config{Facility: DevFacility("local", "FR"), DynamicNodes: true, Store: db, Now: clk.now,
			Heartbeat: time.Second, HeartbeatTimeout: 10 * time.Second, KillTimeout: 5 * time.Second, TokenKey: testTokenKey}
		for _, m := range mods {
			m(&cfg)
		}
		s, err := New(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return envOf(t, s, t.TempDir(), clk)
	}
}
