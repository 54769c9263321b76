package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/carnot-dc/carnot/internal/store"
	"github.com/carnot-dc/carnot/internal/store/storetest"
)

// envURL names the environment variable holding the URL of the
// PostgreSQL server the tests use.
const envURL = "CARNOT_TEST_POSTGRES"

// testServer returns the URL of the test server, or skips tb.
func testServer(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(envURL)
	if u == "" {
		tb.Skipf("%s is unset: to run the PostgreSQL store tests, set it to a server's URL, e.g. "+
			"%s='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' go test -race ./internal/store/postgres/",
			envURL, envURL)
	}
	return u
}

// newSchema creates an empty schema on the test server, dropped when tb
// ends, and returns a URL whose search_path is that schema.
func newSchema(tb testing.TB) string {
	tb.Helper()
	base := testServer(tb)
	ctx := context.Background()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	schema := "carnot_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("connect to %s: %v", envURL, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("connect to drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("%s: %v", envURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// poolURL is u, a URL newSchema returned, with a pool small enough that
// the suite's parallel tests stay under the server's max_connections.
func poolURL(u string) string { return u + "&pool_max_conns=4" }

// openTest opens a store on a new schema, closed when tb ends.
func openTest(tb testing.TB) *DB {
	tb.Helper()
	db, err := Open(context.Background(), poolURL(newSchema(tb)))
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

func TestConformance(t *testing.T) { conformance(t, false) }

// conformance runs the store's conformance suite, with every batch run
// request by request in its savepoint when savepointsOnly is set.
func conformance(t *testing.T, savepointsOnly bool) {
	testServer(t)
	t.Parallel()
	storetest.Run(t, func(t *testing.T) storetest.Open {
		u := newSchema(t)
		return func(t *testing.T) store.Store {
			db, err := Open(context.Background(), poolURL(u))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			db.savepointsOnly = savepointsOnly
			return db
		}
	})
}

// TestConcurrentOpen opens the same new schema from several goroutines
// at once: the migration lock lets exactly one migrate it.
func TestConcurrentOpen(t *testing.T) {
	u := newSchema(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			db, err := Open(context.Background(), u)
			if err != nil {
				t.Errorf("Open: %v", err)
				return
			}
			if err := db.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	wg.Wait()
	conn, err := pgx.Connect(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	ms, err := migrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(ms) {
		t.Errorf("%d migrations recorded, want %d", n, len(ms))
	}
}
