package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
	"github.com/carnot-dc/carnot/internal/store/rows"
)

// writeStmts are the committer's statements, prepared once on the writer
// connection.
type writeStmts struct {
	begin, commit, rollback           *sql.Stmt
	savepoint, rollbackTo, release    *sql.Stmt
	insertJob, updateJob              *sql.Stmt
	selectKey, insertKey, insertEvent *sql.Stmt
	putNode                           *sql.Stmt
	// conn is the writer connection, for statements run rarely.
	conn *sql.Conn
}

// marks returns n SQL parameters, "?, ?, …".
func marks(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// prepareWrites prepares the committer's statements on conn.
func prepareWrites(ctx context.Context, conn *sql.Conn) (*writeStmts, error) {
	ws := &writeStmts{conn: conn}
	for _, p := range []struct {
		s   **sql.Stmt
		sql string
	}{
		{&ws.begin, "BEGIN IMMEDIATE"},
		{&ws.commit, "COMMIT"},
		{&ws.rollback, "ROLLBACK"},
		{&ws.savepoint, "SAVEPOINT request"},
		{&ws.rollbackTo, "ROLLBACK TO request"},
		{&ws.release, "RELEASE request"},
		{&ws.insertJob, `INSERT INTO jobs (id, ` + rows.JobCols + `)
			VALUES (?, ` + marks(rows.NJobCols) + `)
			ON CONFLICT (id) DO NOTHING`},
		{&ws.updateJob, `UPDATE jobs SET (` + rows.JobCols + `) =
			(` + marks(rows.NJobCols) + `) WHERE id = ?`},
		{&ws.selectKey, "SELECT job_id FROM idempotency WHERE tenant = ? AND key = ?"},
		{&ws.insertKey, "INSERT INTO idempotency (tenant, key, job_id) VALUES (?, ?, ?)"},
		{&ws.insertEvent, `INSERT INTO events (time, job, tenant, node, type, message, actor)
			VALUES (?, ?, ?, ?, ?, ?, ?)`},
		{&ws.putNode, `INSERT INTO nodes (name, doc) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET doc = excluded.doc`},
	} {
		s, err := conn.PrepareContext(ctx, p.sql)
		if err != nil {
			_ = ws.close()
			return nil, fmt.Errorf("prepare %q: %w", p.sql, err)
		}
		*p.s = s
	}
	return ws, nil
}

// close closes the statements prepared.
func (ws *writeStmts) close() error {
	var errs []error
	for _, s := range []*sql.Stmt{ws.begin, ws.commit, ws.rollback, ws.savepoint, ws.rollbackTo,
		ws.release, ws.insertJob, ws.updateJob, ws.selectKey, ws.insertKey, ws.insertEvent, ws.putNode} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	return errors.Join(errs...)
}

// CreateJob records j and its first event ev in one transaction. With a
// non-empty key already recorded for j's tenant it records nothing and
// returns the ID of the job that key created, with created false.
func (db *DB) CreateJob(ctx context.Context, j *api.Job, key string, ev *api.Event) (id string, created bool, err error) {
	c, err := encodeCreate(j, key, ev)
	if err != nil {
		return "", false, err
	}
	op := fmt.Sprintf("create job %q", j.ID)
	row, erow := c.Job, c.Event
	var seq int64
	err = db.submit(ctx, op, func(w *writeStmts) error {
		id, created, seq, err = w.createJob(row, key, erow)
		return err
	})
	if err != nil {
		return "", false, err
	}
	if created {
		ev.Seq = seq
	}
	return id, created, nil
}

// createJob runs CreateJob's statements and returns the event's Seq.
func (w *writeStmts) createJob(row jobRow, key string, ev eventRow) (string, bool, int64, error) {
	ctx := context.Background()
	if key != "" {
		var id string
		err := w.selectKey.QueryRowContext(ctx, row.Tenant, key).Scan(&id)
		if err == nil {
			return id, false, 0, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", false, 0, fmt.Errorf("read idempotency key: %w", err)
		}
	}
	res, err := w.insertJob.ExecContext(ctx, append([]any{row.ID}, row.Args()...)...)
	if err != nil {
		return "", false, 0, fmt.Errorf("insert job: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return "", false, 0, fmt.Errorf("insert job: %w", err)
	} else if n == 0 {
		return "", false, 0, store.ErrExists
	}
	if key != "" {
		if _, err := w.insertKey.ExecContext(ctx, row.Tenant, key, row.ID); err != nil {
			return "", false, 0, fmt.Errorf("record idempotency key: %w", err)
		}
	}
	seq, err := w.appendEvent(ev)
	if err != nil {
		return "", false, 0, err
	}
	return row.ID, true, seq, nil
}

// appendEvent inserts ev and returns the Seq it got.
func (w *writeStmts) appendEvent(ev eventRow) (int64, error) {
	res, err := w.insertEvent.ExecContext(context.Background(), ev.Args()...)
	if err != nil {
		return 0, fmt.Errorf("append event: %w", err)
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("append event: %w", err)
	}
	return seq, nil
}

// Update replaces jobs, which must all exist, and appends events, in one
// transaction; a job missing gives store.ErrNotFound and writes nothing.
// Once the call succeeds, events[i].Seq holds the Seq each event got.
func (db *DB) Update(ctx context.Context, jobs []*api.Job, events []api.Event, nodes ...*api.Node) error {
	const op = "update jobs"
	u, err := encodeUpdate(jobs, events, nodes)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	seqs := make([]int64, len(events))
	err = db.submit(ctx, op, func(w *writeStmts) error {
		for i, doc := range u.Nodes {
			if _, err := w.putNode.ExecContext(context.Background(), nodes[i].Name, doc); err != nil {
				return fmt.Errorf("node %q: %w", nodes[i].Name, err)
			}
		}
		return w.update(u.Jobs, u.Events, seqs)
	})
	if err != nil {
		return err
	}
	for i, seq := range seqs {
		events[i].Seq = seq
	}
	return nil
}

// update runs Update's statements, recording the events' Seq in seqs.
func (w *writeStmts) update(jobs []jobRow, events []eventRow, seqs []int64) error {
	for _, row := range jobs {
		res, err := w.updateJob.ExecContext(context.Background(), append(row.Args(), row.ID)...)
		if err != nil {
			return fmt.Errorf("job %q: %w", row.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("job %q: %w", row.ID, err)
		} else if n == 0 {
			return fmt.Errorf("job %q: %w", row.ID, store.ErrNotFound)
		}
	}
	for i, ev := range events {
		seq, err := w.appendEvent(ev)
		if err != nil {
			return err
		}
		seqs[i] = seq
	}
	return nil
}

// PutNode creates or replaces the node n.Name.
func (db *DB) PutNode(ctx context.Context, n *api.Node) error {
	if n == nil || n.Name == "" {
		return errors.New("put node: no node name")
	}
	name := n.Name
	op := fmt.Sprintf("put node %q", name)
	doc, err := encodeNode(n)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return db.submit(ctx, op, func(w *writeStmts) error {
		_, err := w.putNode.ExecContext(context.Background(), name, doc)
		return err
	})
}

// ForgetNodes deletes the nodes named (a node absent is no error) and
// appends events, in one transaction.
func (db *DB) ForgetNodes(ctx context.Context, names []string, events []api.Event) error {
	const op = "forget nodes"
	if err := store.ValidNodeNames(names); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return db.submitWithEvents(ctx, op, events, func(w *writeStmts) error {
		for _, name := range names {
			if _, err := w.conn.ExecContext(context.Background(), "DELETE FROM nodes WHERE name = ?", name); err != nil {
				return fmt.Errorf("node %q: %w", name, err)
			}
		}
		return nil
	})
}
