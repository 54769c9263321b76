package sqlite

import (
	"context"
	"strings"
	"testing"
)

// A database whose recorded migrations skip a number is refused
// (schema.Applied), rather than taken as up to date.
func TestMigrateRefusesAGap(t *testing.T) {
	ctx := context.Background()
	conn := rawConn(t)
	two := map[string]string{"0001_a.sql": "CREATE TABLE a (x);", "0002_b.sql": "CREATE TABLE b (y);"}
	if err := migrate(ctx, conn, files(two)); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if _, err := conn.ExecContext(ctx, "UPDATE schema_migrations SET version = 3 WHERE version = 2"); err != nil {
		t.Fatal(err)
	}
	err := migrate(ctx, conn, files(two))
	if err == nil || !strings.Contains(err.Error(), "found 3 where 2 was expected") {
		t.Fatalf("migrate = %v, want an error naming the gap", err)
	}
}
