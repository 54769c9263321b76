package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/store"
	"github.com/carnot-dc/carnot/internal/store/rows"
)

// params returns "$from, $from+1, …" for n parameters.
func params(from, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = "$" + strconv.Itoa(from+i)
	}
	return strings.Join(ps, ", ")
}

// SQL of the writes.
var (
	// updateJob sets a job's columns ($1… as jobRow.Args) by its ID
	// (the parameter after them).
	updateJob = `UPDATE jobs SET (` + rows.JobCols + `) = (` + params(1, rows.NJobCols) +
		`) WHERE id = ` + params(rows.NJobCols+1, 1)
	// insertJobEvent inserts a job ($1 its ID, then jobRow.Args) and,
	// only when the job is new, its event (the seven parameters after
	// them, as insertEvent), in one round trip: no row back means the
	// job exists.
	insertJobEvent = `WITH j AS (INSERT INTO jobs (id, ` + rows.JobCols + `)
		VALUES (` + params(1, rows.NJobCols+1) + `)
		ON CONFLICT (id) DO NOTHING RETURNING id)
		INSERT INTO events (time, job, tenant, node, type, message, actor)
		SELECT ` + params(rows.NJobCols+2, 7) + ` FROM j RETURNING seq`
	// createJobEvent is CreateJob in one statement (the parameters of
	// insertJobEvent, then the key, '' for none; $2 is the tenant): it
	// records the key and, only when it is new (or none), the job and,
	// only when the job is new, its event. It returns the event's Seq
	// (NULL unless created), whether it recorded the key and the job ID
	// the key had before.
	createJobEvent = `WITH k AS (INSERT INTO idempotency (tenant, key, job_id)
			SELECT $2, ` + keyParam + `, $1 WHERE ` + keyParam + ` <> '' ON CONFLICT (tenant, key) DO NOTHING RETURNING 1),
		j AS (INSERT INTO jobs (id, ` + rows.JobCols + `)
			SELECT ` + params(1, rows.NJobCols+1) + `
			WHERE ` + keyParam + ` = '' OR EXISTS (SELECT FROM k)
			ON CONFLICT (id) DO NOTHING RETURNING id),
		e AS (INSERT INTO events (time, job, tenant, node, type, message, actor)
			SELECT ` + params(rows.NJobCols+2, 7) + ` FROM j RETURNING seq)
		SELECT (SELECT seq FROM e), EXISTS (SELECT FROM k),
			(SELECT job_id FROM idempotency WHERE tenant = $2 AND key = ` + keyParam + `)`
	// keyParam is createJobEvent's key, after the job's ID, its columns
	// and its event's seven.
	keyParam = params(rows.NJobCols+9, 1)
)

// SQL of the writes that do not depend on the job's columns.
const (
	insertKey = `INSERT INTO idempotency (tenant, key, job_id) VALUES ($1, $2, $3)
		ON CONFLICT (tenant, key) DO NOTHING`
	selectKey   = "SELECT job_id FROM idempotency WHERE tenant = $1 AND key = $2"
	insertEvent = `INSERT INTO events (time, job, tenant, node, type, message, actor)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq`
	putNode = `INSERT INTO nodes (name, doc) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET doc = excluded.doc`
)

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
	pipe := func(b *pgx.Batch, own *error) {
		args := append(append(append([]any{row.ID}, row.Args()...), erow.Args()...), key)
		b.Queue(createJobEvent, args...).Fn = func(br pgx.BatchResults) error {
			var s *int64
			var keyNew bool
			var keyJob *string
			if err := br.QueryRow().Scan(&s, &keyNew, &keyJob); err != nil {
				return fmt.Errorf("insert job and event: %w", err)
			}
			switch {
			case s != nil:
				id, created, seq = row.ID, true, *s
			case keyJob != nil && !keyNew:
				id, created = *keyJob, false
			case key == "":
				*own = store.ErrExists
			default:
				// The ID is taken, or the key was recorded by a
				// transaction this statement could not see.
				return errors.New("neither created nor found by its key")
			}
			return nil
		}
	}
	apply := func(ctx context.Context, q querier) error {
		var err error
		id, created, seq, err = createJob(ctx, q, row, key, erow)
		return err
	}
	if err := db.write(ctx, op, pipe, apply); err != nil {
		return "", false, err
	}
	if created {
		ev.Seq = seq
	}
	return id, created, nil
}

// createJob is CreateJob run alone, in its savepoint, statement by
// statement, when createJobEvent could not decide: it returns the event's
// Seq. The key is inserted first: a concurrent call with the same key
// waits on its row until this transaction ends, then reads the job it
// created. The caller holds the events lock.
func createJob(ctx context.Context, tx querier, row jobRow, key string, ev eventRow) (string, bool, int64, error) {
	if key != "" {
		tag, err := tx.Exec(ctx, insertKey, row.Tenant, key, row.ID)
		if err != nil {
			return "", false, 0, fmt.Errorf("record idempotency key: %w", err)
		}
		if tag.RowsAffected() == 0 {
			var id string
			if err := tx.QueryRow(ctx, selectKey, row.Tenant, key).Scan(&id); err != nil {
				return "", false, 0, fmt.Errorf("read idempotency key: %w", err)
			}
			return id, false, 0, nil
		}
	}
	args := append(append([]any{row.ID}, row.Args()...), ev.Args()...)
	var seq int64
	err := tx.QueryRow(ctx, insertJobEvent, args...).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, 0, store.ErrExists
	}
	if err != nil {
		return "", false, 0, fmt.Errorf("insert job and event: %w", err)
	}
	return row.ID, true, seq, nil
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
	err = db.write(ctx, op, func(b *pgx.Batch, _ *error) {
		for i, doc := range u.Nodes {
			queueNode(b, nodes[i].Name, doc)
		}
		for _, row := range u.Jobs {
			b.Queue(updateJob, append(row.Args(), row.ID)...).Fn = func(br pgx.BatchResults) error {
				tag, err := br.Exec()
				if err == nil && tag.RowsAffected() == 0 {
					err = store.ErrNotFound
				}
				if err != nil {
					return fmt.Errorf("job %q: %w", row.ID, err)
				}
				return nil
			}
		}
		for i, ev := range u.Events {
			queueEvent(b, ev, &seqs[i])
		}
	}, nil)
	if err != nil {
		return err
	}
	for i, seq := range seqs {
		events[i].Seq = seq
	}
	return nil
}

// queueNode queues the creation or replacement of the node name.
func queueNode(b *pgx.Batch, name string, doc []byte) {
	b.Queue(putNode, name, doc).Fn = func(br pgx.BatchResults) error {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("node %q: %w", name, err)
		}
		return nil
	}
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
	return db.write(ctx, op, func(b *pgx.Batch, _ *error) { queueNode(b, name, doc) }, nil)
}

// SaveFairShare replaces the saved fair-share history by us, in one
// transaction.
func (db *DB) SaveFairShare(ctx context.Context, us []model.Usage) error {
	const op = "save fair share"
	if err := store.ValidFairShare(us); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return db.write(ctx, op, func(b *pgx.Batch, _ *error) {
		b.Queue("DELETE FROM fair_share")
		for _, u := range us {
			b.Queue("INSERT INTO fair_share (tenant, gpu_seconds, as_of) VALUES ($1, $2, $3)",
				u.Tenant, u.GPUSeconds, int64(u.AsOf))
		}
	}, nil)
}

// ForgetNodes deletes the nodes named (a node absent is no error) and
// appends events, in one transaction.
func (db *DB) ForgetNodes(ctx context.Context, names []string, events []api.Event) error {
	const op = "forget nodes"
	if err := store.ValidNodeNames(names); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	for _, name := range names {
		if !utf8.ValidString(name) {
			return fmt.Errorf("%s: node name %q is not UTF-8", op, name)
		}
	}
	return db.writeWithEvents(ctx, op, events, func(b *pgx.Batch) {
		for _, name := range names {
			b.Queue("DELETE FROM nodes WHERE name = $1", name).Fn = func(br pgx.BatchResults) error {
				if _, err := br.Exec(); err != nil {
					return fmt.Errorf("node %q: %w", name, err)
				}
				return nil
			}
		}
	})
}
