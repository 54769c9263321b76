package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/store"
	"github.com/carnot-dc/carnot/internal/store/rows"
)

// dialect is how PostgreSQL writes the filtered queries of Jobs and
// Events (rows.JobsQuery, rows.EventsQuery): "$n" parameters, and a list
// as one array parameter, so that any number of values is one parameter.
var dialect = rows.Dialect{
	Param: func(n int) string { return "$" + strconv.Itoa(n) },
	In: func(q *rows.Query, col string, vals []string) string {
		return col + " = ANY(" + q.Arg(vals) + ")"
	},
}

// Job returns the job id, or store.ErrNotFound.
func (db *DB) Job(ctx context.Context, id string) (*api.Job, error) {
	op := fmt.Sprintf("read job %q", id)
	leave, err := db.enter(op)
	if err != nil {
		return nil, err
	}
	defer leave()
	if unstorable(id) {
		return nil, fmt.Errorf("%s: %w", op, store.ErrNotFound)
	}
	var doc, spec []byte
	err = db.pool.QueryRow(ctx, "SELECT doc, spec FROM jobs WHERE id = $1", id).Scan(&doc, &spec)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%s: %w", op, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	j, err := decodeJob(doc, spec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return j, nil
}

// Jobs returns one page of the jobs matching f in submission order, and
// the cursor of the next page: the last job's seq, as a decimal number.
func (db *DB) Jobs(ctx context.Context, f store.JobFilter) ([]*api.Job, string, error) {
	const op = "list jobs"
	leave, err := db.enter(op)
	if err != nil {
		return nil, "", err
	}
	defer leave()
	after, err := rows.ParseCursor(f.After)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", op, err)
	}
	n := store.PageSize(f.Limit)
	states := slices.DeleteFunc(slices.Clone(f.States), func(s string) bool { return unstorable(s) })
	if unstorable(f.Tenant, f.PriorityClass, f.Kind) || len(f.States) > 0 && len(states) == 0 {
		return []*api.Job{}, "", nil // no job has such a value
	}
	f.States = states
	q, args := rows.JobsQuery(dialect, f, after, n+1)
	js, err := queryAll(ctx, db, rows.ScanJobs, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", op, err)
	}
	jobs, next := js.Page(n)
	return jobs, next, nil
}

// Active returns every job not in a final state, in submission order.
func (db *DB) Active(ctx context.Context) ([]*api.Job, error) {
	const op = "list active jobs"
	leave, err := db.enter(op)
	if err != nil {
		return nil, err
	}
	defer leave()
	js, err := queryAll(ctx, db, rows.ScanJobs, "SELECT seq, doc, spec FROM jobs WHERE active ORDER BY seq")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return js.Jobs, nil
}

// JobStates returns the state of each job of ids the store holds, in
// one query (the IDs as one text array).
func (db *DB) JobStates(ctx context.Context, ids []string) (map[string]store.JobState, error) {
	op := fmt.Sprintf("read the states of %d jobs", len(ids))
	leave, err := db.enter(op)
	if err != nil {
		return nil, err
	}
	defer leave()
	asked := make([]string, 0, len(ids))
	for _, id := range ids {
		if !unstorable(id) { // names no job, and PostgreSQL refuses it as text
			asked = append(asked, id)
		}
	}
	if len(asked) == 0 {
		return map[string]store.JobState{}, nil
	}
	out, err := queryAll(ctx, db, rows.ScanJobStates,
		"SELECT id, tenant, kind, state, doc->>'end_time' FROM jobs WHERE id = ANY($1)", asked)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}

// queryAll runs q on the pool and reads its rows with scan.
func queryAll[T any](ctx context.Context, db *DB, scan func(rows.Scanner) (T, error), q string, args ...any) (T, error) {
	rs, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		var none T
		return none, err
	}
	defer rs.Close()
	return scan(rs)
}

// Events returns the events after f.After in Seq order, of job f.Job when
// set, at most f.Limit (0: 1000).
func (db *DB) Events(ctx context.Context, f store.EventFilter) ([]api.Event, error) {
	const op = "list events"
	leave, err := db.enter(op)
	if err != nil {
		return nil, err
	}
	defer leave()
	if unstorable(f.Job, f.Tenant) {
		return []api.Event{}, nil // no event has such a value
	}
	q, args := rows.EventsQuery(dialect, f)
	evs, err := queryAll(ctx, db, rows.ScanEvents, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return evs, nil
}

// Usage sums the usage of every job by tenant, tenants sorted by name.
func (db *DB) Usage(ctx context.Context) ([]api.TenantUsage, error) {
	const op = "sum usage"
	leave, err := db.enter(op)
	if err != nil {
		return nil, err
	}
	defer leave()
	us, err := queryAll(ctx, db, rows.ScanUsage,
		`SELECT tenant, COUNT(*), COALESCE(SUM(gpu_seconds), 0),
		COALESCE(SUM(it_kwh), 0), COALESCE(SUM(kwh), 0), COALESCE(SUM(eur), 0), COALESCE(SUM(gco2e), 0),
		COALESCE(SUM(unpriced_kwh), 0)
		FROM jobs GROUP BY tenant ORDER BY tenant COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return us, nil
}

// Nodes returns every node, sorted by name.
func (db *DB) Nodes(ctx context.Context) ([]*api.Node, error) {
	const op = "list nodes"
	leave, err := db.enter(op)
	if err != nil {
		return nil, err
	}
	defer leave()
	nodes, err := queryAll(ctx, db, rows.ScanNodes,
		`SELECT name, doc FROM nodes ORDER BY name COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return nodes, nil
}

// FairShare returns the saved fair-share history, sorted by tenant.
func (db *DB) FairShare(ctx context.Context) ([]model.Usage, error) {
	const op = "read fair share"
	leave, err := db.enter(op)
	if err != nil {
		return nil, err
	}
	defer leave()
	out, err := queryAll(ctx, db, rows.ScanFairShare,
		`SELECT tenant, gpu_seconds, as_of FROM fair_share ORDER BY tenant COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}
