package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/carnot-dc/carnot/internal/api"
)

// A write whose transaction cannot finish (a lock it waits for, a
// connection that hangs) fails once its caller's deadline has passed,
// instead of holding its caller - the server's commit, which waits with
// the server's lock held - until the database lets it go; nothing of it
// is applied, and the committer writes again once the database does.
func TestWritePastItsDeadlineFails(t *testing.T) {
	ctx := context.Background()
	u := newSchema(t)
	db, err := Open(ctx, poolURL(u))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "BEGIN; LOCK TABLE nodes"); err != nil {
		t.Fatal(err)
	}
	unlocked := false
	unlock := func() {
		if !unlocked {
			unlocked = true
			if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer unlock()

	cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	wrote := make(chan error, 1)
	go func() { wrote <- db.PutNode(cctx, &api.Node{Name: "late"}) }()
	select {
	case err := <-wrote:
		if err == nil {
			t.Fatal("the write succeeded while its table was locked")
		}
		t.Logf("the write failed %s after it was made: %v", time.Since(t0).Round(time.Millisecond), err)
	case <-time.After(5 * time.Second):
		unlock()
		t.Fatalf("the write, its deadline 500ms, was still waiting after 5s (then: %v)", <-wrote)
	}
	unlock()
	if err := db.PutNode(ctx, &api.Node{Name: "next"}); err != nil {
		t.Fatalf("a write once the database lets it: %v", err)
	}
	nodes, err := db.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 1 || nodes[0].Name != "next" {
		var names []string
		for _, n := range nodes {
			names = append(names, n.Name)
		}
		t.Errorf("nodes %q, want only next: the failed write must not be applied", names)
	}
}
